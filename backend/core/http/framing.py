"""Malformed HTTP framing answered as problem+json, not uvicorn's plain text (issue 15, defect 11).

A request whose framing the HTTP parser cannot read (a Content-Length that is no number or
contradicts itself, a broken chunk size, a bad header line) never reaches the app: uvicorn
answers it itself with ``400 Invalid HTTP request received.`` in text/plain and closes the
connection. ``fieldproof serve`` runs uvicorn with these protocol classes, which answer the same
400 as ``/problems/malformed-request`` (the input policy's slug for framing the app sees itself),
in the language of the Accept-Language header when the parser got that far (zh-CN otherwise).
The connection is still closed: after broken framing nothing that follows can be trusted.
"""

from __future__ import annotations

import msgspec
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backend.core.errors import MalformedRequest
from backend.core.http.problems import PROBLEM_JSON, problem_document
from backend.core.language import preferred_language


def _problem(headers: list[tuple[bytes, bytes]], message: str) -> tuple[bytes, str]:
    """The problem body and its language for the headers parsed so far."""
    wanted = next((value for name, value in headers if name.lower() == b"accept-language"), None)
    language = preferred_language(None if wanted is None else wanted.decode("latin-1"))
    error = MalformedRequest(f"the request's framing cannot be read: {message.rstrip('.')}")
    document = problem_document(error.status, error.slug, error.title, error.detail, language=language)
    return msgspec.json.encode(document), language


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering unreadable framing with a problem document."""

    def send_400_response(self, msg: str) -> None:
        body, language = _problem(list(getattr(self, "headers", []) or []), msg)
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                b"content-language: " + language.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
            ]
        )
        self.transport.write(b"".join(head) + body)
        self.transport.close()


class ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol (without httptools), the same answer."""

    def send_400_response(self, msg: str) -> None:
        import h11

        body, language = _problem([], msg)
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-language", language.encode()),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()


def http_protocol() -> type[HttpToolsProtocol] | type[H11Protocol]:
    """The protocol class ``fieldproof serve`` gives uvicorn: httptools when installed."""
    try:
        import httptools  # noqa: F401 - only whether it is there
    except ImportError:
        return ProblemH11Protocol
    return ProblemHttpToolsProtocol


__all__ = ["ProblemH11Protocol", "ProblemHttpToolsProtocol", "http_protocol"]
