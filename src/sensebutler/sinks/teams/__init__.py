"""Microsoft Teams: reload alerts to a Workflows (Power Automate) webhook, as a basic MessageCard or
an adaptive card message from a Handlebars template (Butler's templates work unchanged).

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
