"""E-mail alerts: one mail per recipient over SMTP (aiosmtplib), on the shared delivery.

The section is ``config.py``, the SMTP sending ``destination.py``, recipients ``recipients.py``, the
sink and its ``build(runtime)`` ``sink.py``.
"""

# config.model imports this package's config module; loading the config package first keeps a
# direct ``import sensebutler.sinks.<name>.<module>`` from meeting it half-initialised.
import sensebutler.config  # noqa: F401
