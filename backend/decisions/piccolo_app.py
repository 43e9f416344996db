"""Piccolo app `decisions` (own tables, own migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from backend.decisions.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="decisions",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=["backend.org.piccolo_app", "backend.field.piccolo_app"],
    commands=[],
)
