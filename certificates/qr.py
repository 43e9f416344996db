"""QR images of a credential (segno: maintained, pure Python, PNG and SVG)."""

from __future__ import annotations

import io

import segno

# Error correction "M" survives a scratched phone screen and keeps a ~600-character JWT
# URL at a version a cheap phone camera still reads.
_ERROR = "m"


def qr_png(text: str, *, scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error=_ERROR, micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(text: str, *, scale: int = 4) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error=_ERROR, micro=False).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False)
    return buffer.getvalue()
