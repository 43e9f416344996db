"""Every answer that names a person says who that is (issue 14, point 5).

One app-wide ``after_request`` hook, so no route can forget it: the answer a handler returns
(a Struct, or a list of them) gets the name and role beside every person id its Structs
declare in ``PEOPLE`` (``backend.org.names``), all read in one query. Streams, bytes and
problem answers pass untouched. Registered in ``backend/app.py`` for the office, public and
phone routes alike: the names are added fields, so no field of the phone API is renamed or
removed (docs/DEVELOPING.md, conventions).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response

from backend.org.names import with_names


async def fill_names(response: Response[Any]) -> Response[Any]:
    if isinstance(response.content, (msgspec.Struct, list)):
        response.content = await with_names(response.content)
    return response
