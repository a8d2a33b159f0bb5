"""Monitors: services per node, restarts, licences, version, active users, heartbeat, uptime and the
legacy log database. ``feature.build`` makes what ``monitors:`` enables; this package's ``__init__``
imports nothing (``config`` imports ``monitors.config``)."""
