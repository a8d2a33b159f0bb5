"""The log4net UDP inputs: pure parsers for log, user and task datagrams, plus the log-event
categorisation rules and QIX performance filters applied after parsing.

Every parser is total: it returns an event or raises :class:`MalformedDatagram`, whose ``reason`` is
one of :data:`MALFORMED_REASONS` (for drop counters) and whose ``preview`` is safe to log.
"""

from sensebutler.sources.udp.categorise import DROP, CategoriseConfig, Categoriser, Verdict
from sensebutler.sources.udp.malformed import MALFORMED_REASONS, MalformedDatagram, MalformedReason
from sensebutler.sources.udp.parse_log import parse_log_datagram
from sensebutler.sources.udp.parse_task import parse_task_datagram
from sensebutler.sources.udp.parse_user import parse_user_datagram
from sensebutler.sources.udp.qix_filter import EnginePerformanceMonitorConfig, QixPerfFilter

__all__ = [
    "DROP",
    "MALFORMED_REASONS",
    "CategoriseConfig",
    "Categoriser",
    "EnginePerformanceMonitorConfig",
    "MalformedDatagram",
    "MalformedReason",
    "QixPerfFilter",
    "Verdict",
    "parse_log_datagram",
    "parse_task_datagram",
    "parse_user_datagram",
]
