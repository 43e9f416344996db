"""Piccolo app `custody` (own tables, own migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from backend.ledger.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="custody",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=["backend.org.piccolo_app"],
    commands=[],
)
