"""A tiny HTTP platform simulator on localhost: routes, JSON, seeded fault injection, virtual time.

Real sockets on 127.0.0.1 so the connectors under test speak real HTTP through httpx, exactly as they
would to the platform. Faults are drawn from a seeded RNG so a run is reproducible.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from shared.clock import Clock, VirtualClock

LATE_HEADER = "X-Sandbox-Late"  # an answer the client would have given up waiting for


@contextmanager
def late_answers_time_out() -> Iterator[None]:
    """While active, an answer marked LATE_HEADER reaches the httpx client as the ReadTimeout a real
    late answer causes, at once. A day injects timeouts by the hundred; waiting each one out in real
    seconds was most of a day's idle wall time, and the connectors cannot tell the difference."""
    global _late_depth
    with _late_lock:
        if _late_depth == 0:
            httpx.HTTPTransport.handle_request = _marked_late_times_out  # type: ignore[method-assign]
        _late_depth += 1
    try:
        yield
    finally:
        with _late_lock:
            _late_depth -= 1
            if _late_depth == 0:
                httpx.HTTPTransport.handle_request = _HANDLE_REQUEST  # type: ignore[method-assign]


_HANDLE_REQUEST = httpx.HTTPTransport.handle_request
_late_lock = threading.Lock()
_late_depth = 0


def _marked_late_times_out(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    response = _HANDLE_REQUEST(self, request)
    if LATE_HEADER.lower() in response.headers:
        response.close()
        raise httpx.ReadTimeout("the answer came after the client's timeout", request=request)
    return response


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # for non-JSON bodies (e.g. a Cloudflare HTML page)


class FaultKind:
    THROTTLE = "throttle"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    SLOW = "slow"
    LOST_RESPONSE = "lost_response"  # the write happens, the response never arrives


@dataclass
class FaultPlan:
    """Probability that a request meets a fault, and how the faults are shared out."""

    rate: float = 0.0
    weights: dict[str, float] = field(
        default_factory=lambda: {
            FaultKind.THROTTLE: 0.3,
            FaultKind.SERVER_ERROR: 0.3,
            FaultKind.LOST_RESPONSE: 0.2,
            FaultKind.SLOW: 0.15,
            FaultKind.TIMEOUT: 0.05,
        }
    )
    timeout_delay_seconds: float = 0.3  # real seconds; the sandbox client timeout is shorter
    # Answer a timeout fault at once, marked late (LATE_HEADER), instead of waiting out the client's
    # timeout in real time; only with `late_answers_time_out()` active, which turns the mark into the
    # httpx.ReadTimeout the client would have raised. As with the delayed answer, the route never acts.
    timeout_marked: bool = False
    slow_delay_seconds: float = 0.01
    seed: int = 0
    # Draw per request (its method, path, query and body, and how often that request came before) rather
    # than from one sequence, so a request meets the same fault whatever other threads asked meanwhile.
    per_request: bool = False

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()

    def draw(self, request: Request | None = None) -> str | None:
        if self.rate <= 0:
            return None
        with self._lock:
            rng = self._rng
            if self.per_request and request is not None:
                query = "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))
                digest = hashlib.blake2b(request.raw, digest_size=8).hexdigest()
                key = f"{request.method} {request.path.lower()}?{query} {digest}"
                self._seen[key] += 1
                rng = random.Random(f"{self.seed}|{key}|{self._seen[key]}")
            if rng.random() >= self.rate:
                return None
            kinds = list(self.weights)
            return rng.choices(kinds, weights=[self.weights[k] for k in kinds])[0]


Handler = Callable[[Request, re.Match[str]], Response]
_NUMBERS = re.compile(r"(?<=/)\d+(?=/|$)")


class Simulator:
    """Subclass, register routes in __init__, and implement `throttled_response`."""

    name = "simulator"

    def __init__(self, clock: Clock | None = None, faults: FaultPlan | None = None):
        self.clock = clock or VirtualClock()
        self.faults = faults or FaultPlan()
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self.lock = threading.RLock()
        self.requests: Counter[str] = Counter()
        # (flow, "METHOD /path" with numeric ids as {id}): the flow is the hop the caller's User-Agent
        # names (`hopline/<hop>`), "-" for none, so a day can say which flow spent the platform's calls.
        self.calls_by_flow: Counter[tuple[str, str]] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routing -------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler, *, writes: bool = False) -> None:
        """Paths match case-insensitively (Cin7 ignores path case); `writes` marks lost-response targets."""
        self.routes.append((method.upper(), re.compile(f"^{pattern}$", re.IGNORECASE), handler, writes))

    def authenticate(self, request: Request) -> Response | None:
        """Return an error response when credentials are wrong; None when they are fine."""
        return None

    def throttled_response(self, request: Request) -> Response:
        return Response(429, {"error": "Too Many Requests"}, {"Retry-After": "1"})

    def before_request(self, request: Request) -> Response | None:
        """Hook for real rate limits; return a response to short-circuit."""
        return None

    def before_route(self, request: Request) -> None:
        """Hook run just before a routed request acts, without the simulator's lock held: a scenario
        reacting here (a cancellation racing a create) may call this simulator back from another
        thread without waiting on itself."""

    # -- dispatch ------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> tuple[Response | None, float]:
        """Returns (response or None to drop the connection, real seconds to delay first)."""
        self.requests[f"{request.method} {request.path.lower()}"] += 1
        agent = request.headers.get("user-agent", "")
        flow = agent.removeprefix("hopline/").split(" ")[0] if agent.startswith("hopline/") else "-"
        self.calls_by_flow[(flow, f"{request.method} {_NUMBERS.sub('{id}', request.path.lower())}")] += 1
        denied = self.authenticate(request)
        if denied is not None:
            return denied, 0.0
        limited = self.before_request(request)
        if limited is not None:
            return limited, 0.0
        fault = self.faults.draw(request)
        if fault:
            self.faults_injected[fault] += 1
        if fault == FaultKind.THROTTLE:
            return self.throttled_response(request), 0.0
        if fault == FaultKind.SERVER_ERROR:
            return Response(
                502, raw=b"<html><body>502 Bad Gateway</body></html>", headers={"Content-Type": "text/html"}
            ), 0.0
        if fault == FaultKind.TIMEOUT:
            if self.faults.timeout_marked:
                return Response(504, {"error": "late"}, {LATE_HEADER: "1"}), 0.0
            return Response(504, {"error": "late"}), self.faults.timeout_delay_seconds
        delay = self.faults.slow_delay_seconds if fault == FaultKind.SLOW else 0.0
        for method, pattern, handler, writes in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                self.before_route(request)
                with self.lock:
                    response = handler(request, match)
                if fault == FaultKind.LOST_RESPONSE and writes:
                    return None, 0.0
                return response, delay
        return Response(404, {"error": f"no route {request.method} {request.path}"}), 0.0

    # -- server --------------------------------------------------------------------------------
    def start(self) -> str:
        simulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    raw=raw,
                )
                response, delay = simulator.dispatch(request)
                if delay:
                    time.sleep(delay)
                if response is None:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                payload = response.raw if response.raw is not None else json.dumps(response.body).encode()
                self.send_response(response.status)
                headers = {"Content-Type": "application/json", **response.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                # Headers and body in one write: two small writes cost a delayed-ACK stall per request.
                buffered: list[bytes] = self._headers_buffer  # type: ignore[has-type,unused-ignore]
                head = b"".join([*buffered, b"\r\n"])
                self._headers_buffer: list[bytes] = []
                try:
                    self.wfile.write(head + payload)
                except OSError:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 - stdlib naming

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        host, port = (str(part) for part in self._server.server_address[:2])
        return f"http://{host}:{port}/"

    @property
    def url(self) -> str:
        assert self._server is not None, "simulator not started"
        host, port = (str(part) for part in self._server.server_address[:2])
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
