"""Signl4: reload alerts to a team's webhook with Butler's payload, resolved when the task next
succeeds (Butler never resolves them).

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
