"""The embedded store: every event kind the dashboard shows, kept in SQLite in ``state.dir``.

The section is ``config.py``; records in ``records.py``; the file and its queries in ``storage.py``;
the sink and its ``build(runtime)`` in ``sink.py``.
"""
