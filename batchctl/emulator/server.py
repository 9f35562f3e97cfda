"""A small threaded HTTP/1.1 keep-alive server for a WSGI app, on loopback, and quiet.

Built on ``http.server`` (one thread per connection). Differences from ``wsgiref``: keep-alive,
chunked request bodies, ``Content-Length`` or chunked replies, large writes (headers and small
bodies in one send, files through ``sendfile``), and an app exception ends the connection without
an answer (or mid-body), which is how the emulator's lost replies and dropped streams look on the
wire. Nothing is printed per request; with ``verbose=True`` a line per request goes to stderr.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from batchctl.emulator.bodies import Chained, ChunkedReader, FileWrapper, LengthReader

_SMALL = 256 * 1024  # replies up to this size go out in one send with their headers
_DRAIN_LIMIT = 64 * 1024 * 1024  # unread request bodies larger than this end the connection


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "batchctl-emulator"
    sys_version = ""
    disable_nagle_algorithm = True
    rbufsize = 1 << 16
    timeout = 300  # an idle keep-alive connection is closed after this
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
        if self.server.verbose:
            sys.stderr.write(f"batchctl emulator: {self.address_string()} {format % args}\n")

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        try:
            self._run_app()
        except OSError:  # the client went away
            self.close_connection = True

    def _environ(self, body: LengthReader) -> dict[str, Any]:
        target = self.path
        if "://" in target.split("?", 1)[0]:  # absolute-form request target
            parts = urlsplit(target)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": target,
            "REQUEST_URI": target,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        if isinstance(body, ChunkedReader):
            environ.pop("CONTENT_LENGTH", None)
        return environ

    def _body(self) -> LengthReader | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return ChunkedReader(self.rfile)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return LengthReader(self.rfile, max(0, length))

    def _run_app(self) -> None:
        body = self._body()
        if body is None:
            self.close_connection = True
            self.send_error(400, "Bad Content-Length")
            return
        reply: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            if exc_info and reply.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            reply["status"], reply["headers"] = status, headers
            return self._no_write

        try:
            result = self.server.app(self._environ(body), start_response)
            if "status" not in reply:  # an app may call start_response on its first chunk
                chunks = iter(result)
                first = next(chunks, b"")
                result = Chained(first, chunks, result)
        except Exception:  # noqa: BLE001 - the reply is lost: close without answering
            self._abort()
            return
        try:
            self._send(result, reply["status"], reply["headers"])
        except Exception:  # noqa: BLE001 - cut part-way (or the client left): the connection cannot be reused
            self._abort()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self.log_request(reply["status"].split(" ", 1)[0])
        if not self.close_connection and not body.drain(_DRAIN_LIMIT):
            self.close_connection = True

    @staticmethod
    def _no_write(_data: bytes) -> None:
        raise NotImplementedError("the emulator's server does not support the WSGI write() callable")

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, result: Iterable[bytes], status: str, headers: list[tuple[str, str]]) -> None:
        names = {name.lower() for name, _ in headers}
        if "content-length" not in names and isinstance(result, (list, tuple)):
            headers = [*headers, ("Content-Length", str(sum(map(len, result))))]
            names.add("content-length")
        chunked = "content-length" not in names
        if any(n == "connection" and v.lower() == "close" for n, v in ((n.lower(), v) for n, v in headers)):
            self.close_connection = True
        lines = [f"HTTP/1.1 {status}", f"Server: {self.server_version}", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in headers if name.lower() != "connection"]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        promised = None if chunked else int(next(v for n, v in headers if n.lower() == "content-length"))
        sock = self.connection
        if isinstance(result, FileWrapper) and promised is not None:
            sock.sendall(head)
            sent = sock.sendfile(result.file, count=promised) if promised else 0
            if sent != promised:
                raise ConnectionError("file shorter than its Content-Length")
            return
        pending = bytearray(head)
        sent = 0
        try:
            for chunk in result:
                if not chunk:
                    continue
                sent += len(chunk)
                if chunked:
                    chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk)
                if len(pending) + len(chunk) <= _SMALL:
                    pending += chunk
                    continue
                if pending:
                    sock.sendall(pending)
                    pending = bytearray()
                sock.sendall(chunk)
        except Exception:
            if pending:  # what the app produced before it failed goes out, then the cut
                sock.sendall(pending)
            raise
        if chunked:
            pending += b"0\r\n\r\n"
        if pending:
            sock.sendall(pending)
        if promised is not None and sent != promised:
            raise ConnectionError("body shorter than its Content-Length")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: Callable, family: int, verbose: bool) -> None:
        self.address_family = family
        self.app = app
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:  # HTTPServer's would call getfqdn(), a DNS lookup
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            super().handle_error(request, client_address)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer:
    """Serve a WSGI app (normally the emulator's) over HTTP/1.1 on ``host:port`` (0 = a free port)."""

    def __init__(
        self, app: Callable, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._httpd = _HTTPServer((host, port), app, family, verbose)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        self.base_url = f"http://{shown}:{self.port}"
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> EmulatorServer:
        """Serve in a background thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.01},  # stop() waits up to this long (tests stop hundreds)
                name="batchctl-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.close_connections()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (KeyboardInterrupt propagates after cleanup)."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._closed = True
            self._httpd.close_connections()
            self._httpd.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
