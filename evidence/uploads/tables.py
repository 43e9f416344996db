"""Tables of the `uploads` area."""

from piccolo.table import Table

TABLES: list[type[Table]] = []
