"""Prometheus: ``GET /metrics`` with Butler SOS's ``butlersos_*`` gauges and sensebutler's own metrics.

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
