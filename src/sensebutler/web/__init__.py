"""The one web server: every feature's HTTP paths on named listeners (``config/web.py``).

Features mount ASGI apps on ``runtime.web`` (:mod:`.mounts`) while they are built; the web builder
(``server.build``, last in the feature registry) opens one :class:`~.server.WebServer` per listener
that has something mounted.
"""
