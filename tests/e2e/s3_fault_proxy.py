"""An HTTP proxy in front of the local S3 server that spoils GetObject of one key, for fault tests.

Everything else passes through untouched. The faults are the two ways a real S3 read fails:
an error status (botocore retries it inside the call) and a connection dropped mid-body (the
caller's ``Body.read()`` fails, after botocore's retries are over: the task attempt fails).
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

INTERNAL_ERROR = "internal_error"
TRUNCATED = "truncated"
_INTERNAL_ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)
# Hop-by-hop, or recomputed here: the body is forwarded whole, so its length is known.
_DROPPED_RESPONSE_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class S3FaultProxy:
    """``faults`` are served, in order, to the GETs of ``bucket/key``; then that key passes too."""

    def __init__(self, upstream_port: int, bucket: str, key: str, faults: list[str]):
        self.upstream_port = upstream_port
        self.path = f"/{bucket}/{key}"
        self.pending = list(faults)
        self.served: list[str] = []
        self.gets = 0  # GETs of the key, faulted or not
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> S3FaultProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _fault_for(self, method: str, raw_path: str) -> str | None:
        if method != "GET" or unquote(urlsplit(raw_path).path) != self.path:
            return None
        with self._lock:
            self.gets += 1
            if not self.pending:
                return None
            fault = self.pending.pop(0)
            self.served.append(fault)
            return fault

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: pytest shows failures, not traffic
                pass

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                fault = proxy._fault_for(self.command, self.path)
                if fault == INTERNAL_ERROR:
                    self.send_response(500)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(_INTERNAL_ERROR_BODY)))
                    self.end_headers()
                    self.wfile.write(_INTERNAL_ERROR_BODY)
                    return
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in _DROPPED_RESPONSE_HEADERS:
                        self.send_header(name, value)
                full_length = response.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
                self.send_header("Content-Length", full_length or "0")
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command == "HEAD":
                    return
                # A dropped connection: the promised length, half the bytes.
                self.wfile.write(data[: len(data) // 2] if fault == TRUNCATED else data)
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward  # noqa: N815 - http.server's names

        return Handler
