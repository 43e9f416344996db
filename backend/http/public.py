"""Public routes (/public/v1) live with their area: the JWKS (``/public/v1/keys``) and
certificate verification are in ``certificates/routes.py`` (``PublicController``), because
``certificates`` may not import ``backend.http``. Nothing else is public yet.
"""

from typing import Any

ROUTES: list[Any] = []
