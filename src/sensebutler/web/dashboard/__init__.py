"""The built-in dashboard at ``/dashboard``: pages that read the embedded store (or InfluxDB when
only that is configured), updated live by server-sent events, protected by the API keys. Section in
``config.py``; ASGI app in ``app.py``; page data in ``queries.py`` over ``reader.py``'s protocol;
chart library from npm (``make web-assets`` → ``vendor/``)."""
