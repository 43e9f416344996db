"""A real TCP proxy in front of the S3 server that breaks mid-stream, for failure-path tests."""

from __future__ import annotations

import contextlib
import socket
import threading


class FlakyProxy:
    """Forwards to ``upstream``; once ``budget`` request bytes have passed, the connection
    carrying them is cut and the next ``refuse`` connections are reset, then it heals."""

    def __init__(self, upstream: tuple[str, int], *, budget: int, refuse: int) -> None:
        self.upstream = upstream
        self.budget = budget
        self.refuse = refuse
        self.cuts = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop = True
        self._server.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                broken = self.budget <= 0 and self.refuse > 0
                if broken:
                    self.refuse -= 1
            if broken:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()  # RST: connection reset by peer
                continue
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                if counted:
                    with self._lock:
                        self.budget -= len(data)
                        cut = self.budget <= 0 and self.cuts == 0
                        if cut:
                            self.cuts += 1
                    if cut:
                        break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
