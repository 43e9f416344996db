"""Tables of the `certificates` area."""

from piccolo.table import Table

TABLES: list[type[Table]] = []
