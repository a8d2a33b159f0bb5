"""E-mail alerts: one mail per recipient over SMTP (aiosmtplib), on the shared delivery.

The section is ``config.py``, the SMTP sending ``destination.py``, recipients ``recipients.py``, the
sink and its ``build(runtime)`` ``sink.py``.
"""
