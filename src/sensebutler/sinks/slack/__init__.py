"""Slack: reload alerts to an incoming webhook, as a basic message or a Block Kit message from a
Handlebars template (Butler's templates work unchanged).

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
