"""MQTT: Butler SOS's topics and payloads, published through the shared delivery (queue, retry, spool).

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
