"""``delivery:`` — the queue → batch → retry → spool settings every sink shares.

A sink section may carry its own ``delivery:`` block, which replaces the global one for that sink.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sensebutler.config.base import Section


class RetryConfig(Section):
    initial_s: float = Field(default=0.5, gt=0, le=60)
    max_s: float = Field(default=30.0, gt=0, le=3600)
    #: with the spool off: attempts of one batch before it is dropped (``destination_down``). With
    #: the spool on, a batch goes there at its first transient failure and is retried from there.
    attempts_before_spool: int = Field(default=3, ge=1, le=100)


class SpoolConfig(Section):
    enable: bool = True
    max_mb: float = Field(default=256, gt=0)
    #: which records to give up when the spool is full; the other ones are kept
    when_full: Literal["drop_oldest", "drop_newest"] = "drop_oldest"


class DeliveryConfig(Section):
    #: records held in memory per sink; beyond it they wait in the disk spool (memory stays bounded)
    queue_size: int = Field(default=20_000, ge=1)
    #: records per request; 1,000 rather than 5,000 kept the service ~30 MB smaller at 20,000 events/s for
    #: the same CPU per event (bench/udp_ingest.py)
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    #: how long a record waits for others to share its batch; while the destination is down, the
    #: longest a record lives only in memory before it is on disk (what a kill -9 can lose)
    flush_interval_s: float = Field(default=0.5, gt=0, le=600)
    send_timeout_s: float = Field(default=10.0, gt=0, le=600)
    shutdown_timeout_s: float = Field(default=5.0, gt=0, le=600)
    #: batches sent at the same time; None = the destination's own default (InfluxDB and New Relic
    #: 2, MQTT 1). With more than one, batches may arrive out of order.
    max_in_flight: int | None = Field(default=None, ge=1, le=16)
    retry: RetryConfig = RetryConfig()
    spool: SpoolConfig = SpoolConfig()
