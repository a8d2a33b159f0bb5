"""Outgoing webhooks: reload alerts with Butler's field names to any HTTP endpoint (GET, POST, PUT).

``destination.py`` is the HTTP destination Slack, Teams and Signl4 share; the section is
``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
