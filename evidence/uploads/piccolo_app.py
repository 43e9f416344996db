"""Piccolo app `uploads` (own tables, own migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from evidence.uploads.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="uploads",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=["backend.org.piccolo_app", "evidence.piccolo_app"],
    commands=[],
)
