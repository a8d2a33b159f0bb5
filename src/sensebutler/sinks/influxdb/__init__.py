"""The InfluxDB sink (v1, v2, v3): Butler SOS's measurements, batched, spooled while InfluxDB is down.

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
