"""Script logs of failed reloads written to disk, in Butler's folders and file names.

The section is ``config.py``; the sink and its ``build(runtime)`` are in ``sink.py``.
"""

# config.model imports this package's config module; loading the config package first keeps a
# direct ``import sensebutler.sinks.<name>.<module>`` from meeting it half-initialised.
import sensebutler.config  # noqa: F401
