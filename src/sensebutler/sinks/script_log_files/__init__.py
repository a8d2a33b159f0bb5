"""Script logs of failed reloads written to disk, in Butler's folders and file names.

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""
