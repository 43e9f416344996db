"""Piccolo configuration: the engine comes from FIELDPROOF_DATABASE_URL, apps are listed once.

The app binds its own engine at start (backend.core.db.bind); this module serves the
Piccolo migration machinery, which looks the engine up here.
"""

from typing import Any

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from backend.core.db import make_engine
from backend.core.settings import load_settings

APPS = [
    "backend.core.piccolo_app",
    "backend.org.piccolo_app",
    "certificates.piccolo_app",
    "evidence.piccolo_app",
    "backend.ledger.piccolo_app",
    "evidence.uploads.piccolo_app",
    "backend.field.piccolo_app",
    "backend.decisions.piccolo_app",
    "backend.oversight.piccolo_app",
]

DB: Engine[Any] = make_engine(load_settings().effective_database_url)

APP_REGISTRY = AppRegistry(apps=APPS)
