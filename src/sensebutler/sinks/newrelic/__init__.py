"""New Relic: Butler SOS's Metric API and Event API payloads, each kind routed to its own accounts.

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
