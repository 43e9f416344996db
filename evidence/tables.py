"""Tables of the `evidence` area."""

from piccolo.table import Table

TABLES: list[type[Table]] = []
