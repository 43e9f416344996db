"""HTTP routes of this area (registered in backend/app.py via ROUTES)."""

from typing import Any

ROUTES: list[Any] = []
