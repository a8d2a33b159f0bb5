"""Reload alerts: the template context (Butler's field names), templates, the ``alerts:`` section,
the base section of every alert destination and the shared rate limits.

Keep this package free of anything importing ``runtime`` (config sections import from here).
"""

# The config package imports alerts.config (through config.model); loading it first keeps
# ``import sensebutler.alerts.<module>`` from meeting a half-initialised config package.
import sensebutler.config  # noqa: F401
