"""MockZStack: the WSGI app served by a real werkzeug HTTP server on a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from zstack_contract.mock.app import MockZStackApp
from zstack_contract.mock.deviations import resolve
from zstack_contract.mock.jobs import JOB_DELAY, JOB_RETENTION

# How often serve_forever looks for a shutdown request. stop() waits up to this long, and suites start
# one server per deviation, so the 0.5 s default would add up to seconds.
_POLL_INTERVAL_SECONDS = 0.02


class _QuietRequestHandler(WSGIRequestHandler):
    # Responses are framed by Content-Length and go out as HTTP/1.1. Werkzeug 3.1 still adds
    # "Connection: close" to every response, so clients reconnect per request.
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log line: a contract run makes thousands of requests."""


class MockZStack:
    """An embedded mock ZStack management node.

    >>> with MockZStack([DeviationName.BACKUPS_KEY]) as zstack:
    ...     zstack.url  # doctest: +SKIP
    'http://127.0.0.1:43121'
    """

    def __init__(
        self,
        deviations: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        job_delay: float = JOB_DELAY,
        job_retention: float = JOB_RETENTION,
    ) -> None:
        self.deviations = resolve(deviations)
        self.app = MockZStackApp(self.deviations, job_delay=job_delay, job_retention=job_retention)
        self._host = host
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"MockZStack({where}, deviations={sorted(self.deviations)})"

    def start(self) -> None:
        """Bind and serve in a daemon thread. Raises RuntimeError if already running, OSError if the bind fails."""
        if self._server is not None:
            raise RuntimeError(f"{self!r} is already running")
        try:
            server = make_server(
                self._host, self._requested_port, self.app, threaded=True, request_handler=_QuietRequestHandler
            )
        except SystemExit as exc:
            # Werkzeug reports bind failures with print() and sys.exit(1), which suits a CLI but would
            # end a test session.
            raise OSError(f"cannot listen on {self._host}:{self._requested_port}") from exc
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_SECONDS},
            name=f"mock-zstack-{server.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop serving and close the listening socket. Does nothing if not running."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        # werkzeug's serve_forever closes the socket on exit; closing again is harmless and covers a
        # thread that died early.
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> MockZStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the mock is not running")
        return self._server.port

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:43121."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def requests_served(self) -> int:
        return self.app.requests_served

    def check(self) -> None:
        """Re-raise the first exception a handler raised, so a mock bug fails the test that caused it."""
        errors = self.app.recorded_errors()
        if errors:
            raise errors[0]
