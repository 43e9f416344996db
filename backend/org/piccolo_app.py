"""Piccolo app of the organisation area (own migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from backend.org.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="org",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
