"""Piccolo app `oversight` (own tables, own migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from backend.oversight.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="oversight",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=["backend.org.piccolo_app"],
    commands=[],
)
