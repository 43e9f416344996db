"""A SHA-256 whose running state can be saved in the database and resumed elsewhere.

A tus upload arrives in many PATCHes, possibly on different API processes and across
restarts. The whole-file SHA-256 (R-REC-5) is computed once while the bytes stream through;
``hashlib`` cannot export its state, so this wraps OpenSSL's SHA256_CTX (a plain 112-byte
struct we own) through ctypes. The state is tagged with its format so a process that cannot
read it (no libcrypto, other layout) treats it as lost and the upload falls back to one
re-read of the staged object at completion.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
from typing import Any, Protocol

_CTX_SIZE = 112  # SHA_LONG h[8], Nl, Nh, data[16], unsigned num, md_len
_FORMAT = b"ossl-sha256-ctx-v1:"


def _load_libcrypto() -> Any | None:
    name = ctypes.util.find_library("crypto")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        init, update, final = lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final
    except (OSError, AttributeError):
        return None
    for fn in (init, update, final):
        fn.restype = ctypes.c_int
    init.argtypes = [ctypes.c_void_p]
    update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    final.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    return lib


_LIB = _load_libcrypto()


class Sha256(Protocol):
    def update(self, data: bytes | bytearray | memoryview) -> None: ...
    def hexdigest(self) -> str: ...
    def state(self) -> bytes | None: ...


class _ResumableSha256:
    """SHA-256 over OpenSSL's low-level context; ``state()`` is the raw context bytes."""

    def __init__(self, lib: Any, raw: bytes | None = None) -> None:
        self._lib = lib
        if raw is None:
            self._ctx = ctypes.create_string_buffer(_CTX_SIZE)
            lib.SHA256_Init(self._ctx)
        else:
            self._ctx = ctypes.create_string_buffer(raw, _CTX_SIZE)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if isinstance(data, bytes):
            self._lib.SHA256_Update(self._ctx, data, len(data))
            return
        view = memoryview(data).cast("B")
        if view.readonly:  # ctypes needs a writable buffer to take its address without a copy
            self._lib.SHA256_Update(self._ctx, bytes(view), len(view))
            return
        buffer = (ctypes.c_char * len(view)).from_buffer(view)
        self._lib.SHA256_Update(self._ctx, buffer, len(view))

    def hexdigest(self) -> str:
        work = ctypes.create_string_buffer(self._ctx.raw, _CTX_SIZE)  # Final would consume the state
        out = ctypes.create_string_buffer(32)
        self._lib.SHA256_Final(out, work)
        return out.raw.hex()

    def state(self) -> bytes:
        return _FORMAT + self._ctx.raw


class _PlainSha256:
    """Fallback: hashlib, state not exportable (the upload then re-reads once at completion)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def state(self) -> None:
        return None


def new_sha256() -> Sha256:
    return _ResumableSha256(_LIB) if _LIB is not None else _PlainSha256()


def resume_sha256(state: bytes | None) -> Sha256 | None:
    """The hash continued from a saved state, or None when the state cannot be used here."""
    if _LIB is None or state is None or not state.startswith(_FORMAT):
        return None
    raw = state[len(_FORMAT) :]
    if len(raw) != _CTX_SIZE:
        return None
    return _ResumableSha256(_LIB, raw)


def resumable() -> bool:
    return _LIB is not None
