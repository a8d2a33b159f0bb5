"""The REST API (Butler's ``/v4``): see ``app.py`` for how it is put together and docs/api.md.

``sensebutler.config`` is imported first: its model imports :mod:`.config` (the ``api:`` section),
and that order keeps the import from cycling when a module of this package is imported first.
"""

import sensebutler.config  # noqa: F401
