"""One outbound-call mechanism for every connector: classify, retry, honour Retry-After, spend budget,
authenticate and page.

Each connector supplies a classification table (rules, first match wins) that turns an httpx response
into a Disposition. Transient dispositions are retried in-process with exponential backoff and full
jitter (tenacity), capped, honouring Retry-After; after the last attempt the TransientError escapes so
SQS redelivers the message. Permanent dispositions raise PermanentError with the rule's reason code.

Every connector client is a `PlatformHttp`: it names its base URL, its table and its `Auth` (static
headers such as an API key, HTTP Basic, or an OAuth2 client-credentials token), and pages with
`numbered_pages` / `offset_pages`. What stays in the connector is what its platform alone does.
"""

from __future__ import annotations

import base64
import random
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from shared.clock import Clock, SystemClock
from shared.errors import AuthError, NotFoundError, PermanentError, RateLimitedError, TransientError
from shared.models.reasons import ReasonCode
from shared.redaction import module_logger

if TYPE_CHECKING:
    from shared.config import RetryConfig

logger = module_logger(__name__)

T = TypeVar("T")


class Disposition(StrEnum):
    OK = "ok"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Rule:
    """A row of a classification table: when `matches`, the response means `disposition`."""

    description: str
    matches: Callable[[httpx.Response], bool]
    disposition: Disposition
    reason: ReasonCode | None = None


def status_in(*codes: int) -> Callable[[httpx.Response], bool]:
    return lambda response: response.status_code in codes


def status_between(low: int, high: int) -> Callable[[httpx.Response], bool]:
    return lambda response: low <= response.status_code <= high


def classify(response: httpx.Response, rules: Sequence[Rule]) -> Rule:
    for rule in rules:
        if rule.matches(response):
            return rule
    raise AssertionError(f"classification table has no rule for HTTP {response.status_code}")


def retry_after_seconds(response: httpx.Response, clock: Clock) -> float | None:
    """Retry-After as seconds (delta or HTTP date); None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - clock.now()).total_seconds())
    except (TypeError, ValueError):
        return None


class RateBudget(Protocol):
    """A shared allowance of calls per target account; throttling responses feed back into it."""

    def acquire(self, cost: int = 1) -> None: ...

    def prepay(self, calls: int) -> AbstractContextManager[None]:
        """The next `calls` acquires are one known sequence (a budget shared through a store takes them in
        one write); a budget in process needs nothing."""
        ...

    def penalise(self, seconds: float) -> None: ...

    def shed(self, seconds: float) -> None:
        """The target is shedding load: every caller holds `seconds`, and background callers step aside."""
        ...


class UnlimitedBudget:
    def acquire(self, cost: int = 1) -> None:
        return None

    def prepay(self, calls: int) -> AbstractContextManager[None]:
        return nullcontext()

    def penalise(self, seconds: float) -> None:
        return None

    def shed(self, seconds: float) -> None:
        return None


class TokenBucket:
    """In-process token bucket on an injected clock: `rate` calls per `per_seconds`, burst `capacity`.

    Shared by every connector instance in one process. Sleeping goes through the clock, so the
    sandbox's virtual clock runs a throttled backlog in no real time.
    """

    def __init__(self, rate: int, per_seconds: float, clock: Clock, capacity: int | None = None):
        self.rate = rate
        self.per_seconds = per_seconds
        self.capacity = float(capacity if capacity is not None else max(1, rate // 6))
        self.clock = clock
        self._tokens = self.capacity
        self._stamp = clock.now()
        self._blocked_until = clock.now()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock.now()
        elapsed = (now - self._stamp).total_seconds()
        self._stamp = now
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate / self.per_seconds)

    def acquire(self, cost: int = 1) -> None:
        while True:
            with self._lock:
                now = self.clock.now()
                if now < self._blocked_until:
                    wait = (self._blocked_until - now).total_seconds()
                else:
                    self._refill()
                    if self._tokens >= cost - 1e-9:  # float refill lands a hair short of whole tokens
                        self._tokens = max(0.0, self._tokens - cost)
                        return
                    wait = (cost - self._tokens) * self.per_seconds / self.rate
            # Clocks count in microseconds: a shorter wait would not move time and would spin forever.
            self.clock.sleep(max(wait, 1e-6))

    def prepay(self, calls: int) -> AbstractContextManager[None]:
        """In one process each acquire is already free of store writes: call by call."""
        return nullcontext()

    def penalise(self, seconds: float) -> None:
        with self._lock:
            self._tokens = 0.0
            until = self.clock.now() + timedelta(seconds=seconds)
            self._blocked_until = max(self._blocked_until, until)

    def shed(self, seconds: float) -> None:
        """In one process there is no other flow to give way to: the same hold as a throttle."""
        self.penalise(seconds)


@dataclass
class CallStats:
    """Counters the sandbox and benchmarks read; cheap enough to keep in production too."""

    calls: int = 0
    retries: int = 0
    throttled: int = 0


class HttpCaller:
    """Sends requests through the budget, classifies responses and retries what is transient."""

    def __init__(
        self,
        *,
        client: httpx.Client,
        rules: Sequence[Rule],
        retry: RetryConfig,
        clock: Clock | None = None,
        budget: RateBudget | None = None,
        min_throttle_wait: float = 0.0,
        rng: random.Random | None = None,
        target: str = "",
    ):
        self.client = client
        self.rules = rules
        self.retry = retry
        self.clock = clock or SystemClock()
        self.budget = budget or UnlimitedBudget()
        self.min_throttle_wait = min_throttle_wait
        self.rng = rng or self.clock.jitter(f"http|{target}")
        self.target = target
        self.stats = CallStats()

    def _wait(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff, but never shorter than a Retry-After the target sent."""
        attempt = state.attempt_number
        ceiling = min(self.retry.max_delay_seconds, self.retry.base_delay_seconds * (2 ** (attempt - 1)))
        delay = self.rng.uniform(0, ceiling)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            delay = max(delay, min(error.retry_after, self.retry.max_delay_seconds))
        if isinstance(error, RateLimitedError):
            delay = max(delay, self.min_throttle_wait)
        return delay

    def request(self, method: str, url: str, *, idempotent: bool = True, **kwargs: Any) -> httpx.Response:
        """Send with retries; return the OK response or raise our error for its disposition.

        A non-idempotent write (`idempotent=False`) is re-sent in-process only when the target provably
        did not act on it (throttled, or the connection never opened). After an ambiguous failure
        (timeout, dropped response, 5xx) the error escapes, so the caller's next delivery can look
        for what the first attempt may have created before writing again.
        """

        def worth_retrying(error: BaseException) -> bool:
            return isinstance(error, TransientError) and (idempotent or not error.processed)

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(worth_retrying),
            sleep=self.clock.sleep,
            reraise=True,
            before_sleep=lambda _state: self._count_retry(),
        )
        return retrying(self._once, method, url, **kwargs)

    def sequence(self, calls: int) -> AbstractContextManager[None]:
        """The next `calls` requests are one known sequence: the budget may take their turns together."""
        return self.budget.prepay(calls)

    def _count_retry(self) -> None:
        self.stats.retries += 1

    def _once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.budget.acquire()
        self.stats.calls += 1
        try:
            response = self.client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientError(
                f"{self.target} {method} {url}: could not connect ({type(exc).__name__})", processed=False
            ) from exc
        except httpx.TimeoutException as exc:
            raise TransientError(f"{self.target} {method} {url}: timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{self.target} {method} {url}: connection failed ({exc})") from exc
        rule = classify(response, self.rules)
        where = f"{self.target} {method} {response.request.url.path} -> HTTP {response.status_code}"
        match rule.disposition:
            case Disposition.OK:
                return response
            case Disposition.RATE_LIMITED:
                self.stats.throttled += 1
                wait = retry_after_seconds(response, self.clock)
                self.budget.penalise(max(wait or 0.0, self.min_throttle_wait))
                raise RateLimitedError(f"{where}: {rule.description}", retry_after=wait, status=response.status_code)
            case Disposition.RETRY:
                wait = retry_after_seconds(response, self.clock)
                raise TransientError(f"{where}: {rule.description}", retry_after=wait, status=response.status_code)
            case Disposition.AUTH:
                raise AuthError(f"{where}: {rule.description}", status=response.status_code)
            case Disposition.NOT_FOUND:
                raise NotFoundError(f"{where}: {rule.description}", status=response.status_code)
            case Disposition.PERMANENT:
                reason = rule.reason or ReasonCode.SOURCE_REJECTED
                raise PermanentError(
                    reason, f"{where}: {rule.description}: {_snippet(response)}", status=response.status_code
                )
        raise AssertionError(rule.disposition)


def _snippet(response: httpx.Response, limit: int = 300) -> str:
    text = response.text
    return text if len(text) <= limit else text[:limit] + "..."


def json_body(response: httpx.Response) -> Any:
    """Parse JSON; a non-JSON 2xx body is what a proxy or Cloudflare page looks like, so it is transient."""
    try:
        return response.json()
    except ValueError as exc:
        raise TransientError(f"non-JSON body from {response.request.url.path}: {_snippet(response, 120)}") from exc


# -- authentication --------------------------------------------------------------------------------
class Auth:
    """How a client proves who it is: the headers every call carries. This base sends none."""

    def bind(self, client: PlatformHttp) -> None:
        """Called once by the client that uses it (a token strategy sends its own requests through it)."""

    def headers(self) -> dict[str, str]:
        return {}

    def refused(self, sent: Mapping[str, str], error: AuthError) -> bool:
        """A call carrying `sent` was refused: True when new headers are worth one more try."""
        return False


class StaticHeaders(Auth):
    """Fixed credentials on every call: an API key header, or account and application key pairs."""

    def __init__(self, headers: Mapping[str, str]):
        self._headers = dict(headers)

    def headers(self) -> dict[str, str]:
        return dict(self._headers)


def basic_authorization(username: str, password: str) -> str:
    """The HTTP Basic Authorization value (RFC 7617, UTF-8), as httpx's own `auth=(user, password)` writes it."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class BasicAuth(StaticHeaders):
    """HTTP Basic credentials on every call."""

    def __init__(self, username: str, password: str):
        super().__init__({"Authorization": basic_authorization(username, password)})


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: datetime


class ClientCredentials(Auth):
    """An OAuth2 client-credentials bearer token, cached until a margin before it expires.

    The token request (HTTP Basic with the client's id and secret) goes through the client's own budget
    and retries: through its classification table, or through `token_rules` when the token endpoint
    answers differently from the API. A call refused with a status in `renew_on` drops the token it
    carried (unless another thread already replaced it) and is sent once more with a new one. One lock
    per strategy, so threads sharing a client fetch one token between them.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        refresh_margin_seconds: float,
        token_rules: Sequence[Rule] | None = None,
        renew_on: frozenset[int] = frozenset({401}),
    ):
        self.token_url = token_url
        self.scope = scope
        self.refresh_margin_seconds = refresh_margin_seconds
        self.renew_on = renew_on
        self.token: Token | None = None
        self.fetched = 0
        self._basic = basic_authorization(client_id, client_secret)
        self._token_rules = token_rules
        self._lock = threading.Lock()
        self._client: PlatformHttp | None = None
        self._caller: HttpCaller | None = None

    def bind(self, client: PlatformHttp) -> None:
        self._client = client
        caller = client.caller
        if self._token_rules is not None:
            caller = HttpCaller(
                client=caller.client,
                rules=self._token_rules,
                retry=caller.retry,
                clock=caller.clock,
                budget=caller.budget,
                min_throttle_wait=caller.min_throttle_wait,
                target=caller.target,
            )
        self._caller = caller

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def access_token(self) -> str:
        if self._client is None or self._caller is None:
            raise AssertionError("ClientCredentials is used before a client binds it")
        with self._lock:
            now = self._caller.clock.now()
            if self.token is not None and now < self.token.expires_at:
                return self.token.value
            extra: dict[str, Any] = {} if self._client.timeout is None else {"timeout": self._client.timeout}
            response = self._caller.request(
                "POST",
                self.token_url,
                headers={"Authorization": self._basic, "Accept": "application/json"},
                data={"grant_type": "client_credentials", "scope": self.scope},
                **extra,
            )
            self.fetched += 1
            body = json_body(response)
            try:
                value, lifetime = body["access_token"], float(body["expires_in"])
            except (KeyError, TypeError, ValueError) as exc:
                raise TransientError(f"{self._caller.target} token response without access_token/expires_in") from exc
            if not isinstance(value, str) or not value:
                raise TransientError(f"{self._caller.target} token response without an access_token")
            margin = min(self.refresh_margin_seconds, lifetime / 2)
            self.token = Token(value, now + timedelta(seconds=lifetime - margin))
            return value

    def refused(self, sent: Mapping[str, str], error: AuthError) -> bool:
        if error.status not in self.renew_on:
            return False
        with self._lock:
            if self.token is not None and sent.get("Authorization") == f"Bearer {self.token.value}":
                self.token = None
        return True


# -- paging ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page(Generic[T]):
    """One page as read: its number (from 1), its rows (only the unseen ones when paging by key) and,
    where the platform reports one, the total the listing holds."""

    number: int
    rows: Sequence[T]
    total: int | None = None
    listed: int = 0  # rows the page held before rows already seen were dropped


def each_row(pages: Iterable[Page[T]]) -> Iterator[T]:
    """The rows of every page in order: the iterator form of a paged read."""
    for page in pages:
        yield from page.rows


# -- the base client -------------------------------------------------------------------------------
class PlatformHttp:
    """What every connector client is: requests through one HttpCaller (classify, retry, budget), its
    authentication on every call (renewed once when refused), and the paging shapes platforms use."""

    def __init__(
        self,
        *,
        target: str,
        base_url: str = "",
        rules: Sequence[Rule],
        retry: RetryConfig,
        auth: Auth | None = None,
        headers: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        budget: RateBudget | None = None,
        http: httpx.Client | None = None,
        timeout: float | None = None,
        min_throttle_wait: float = 0.0,
    ):
        self.base_url = base_url if not base_url or base_url.endswith("/") else base_url + "/"
        self.clock = clock or SystemClock()
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=timeout if timeout is not None else retry.timeout_seconds)
        self.timeout = timeout  # per call when set; otherwise the httpx client's own
        self.default_headers = {"Accept": "application/json", **(headers or {})}
        self.caller = HttpCaller(
            client=self.http,
            rules=rules,
            retry=retry,
            clock=self.clock,
            budget=budget,
            min_throttle_wait=min_throttle_wait,
            target=target,
        )
        self.auth = auth or Auth()
        self.auth.bind(self)

    @property
    def stats(self) -> CallStats:
        return self.caller.stats

    @property
    def budget(self) -> RateBudget:
        return self.caller.budget

    @property
    def tokens_fetched(self) -> int:
        """Tokens this client asked for (0 for credentials that need none)."""
        return self.auth.fetched if isinstance(self.auth, ClientCredentials) else 0

    def call_headers(self) -> dict[str, str]:
        """Headers made fresh for each call (a correlation id); none by default."""
        return {}

    def url(self, path: str) -> str:
        return path if "://" in path else self.base_url + path

    def send(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call (a path below base_url, or a full URL) with the client's credentials; the OK response.

        When the credentials are refused and the strategy can renew them (an expired or revoked token),
        the call is sent once more with the new ones.
        """
        if self.timeout is not None:
            kwargs.setdefault("timeout", self.timeout)
        url = self.url(path)
        for attempt in (1, 2):
            sent = {**self.default_headers, **self.auth.headers(), **self.call_headers(), **(headers or {})}
            try:
                return self.caller.request(method, url, idempotent=idempotent, headers=sent, **kwargs)
            except AuthError as error:
                if attempt == 2 or not self.auth.refused(sent, error):
                    raise
                logger.info("%s refused the credentials on %s %s: renewing them", self.caller.target, method, path)
        raise AssertionError("unreachable")

    def call_json(self, method: str, path: str, *, allow_empty: bool = False, **kwargs: Any) -> Any:
        """`send`, then the JSON body; None for an empty body when `allow_empty` (else it is transient)."""
        response = self.send(method, path, **kwargs)
        if allow_empty and not response.content:
            return None
        return json_body(response)

    def numbered_pages(
        self,
        fetch: Callable[[int], tuple[Sequence[T], int | None]],
        *,
        limit: int,
        key: Callable[[T], Hashable | None] | None = None,
        seen: set[Any] | None = None,
        what: str = "",
    ) -> Iterator[Page[T]]:
        """Page-number paging: `fetch(n)` answers page n's rows and the listing's total (None when the
        platform gives none). The last page is the one that reaches the total, else the first short page;
        an empty page always ends.

        With `key`, rows whose key is in `seen` are dropped (a falsy key is always new), and a full page
        of nothing new means the platform ignores the page parameter: the read stops there.
        """
        known: set[Any] = set() if seen is None else seen
        number = 1
        while True:
            listed, total = fetch(number)
            rows = list(listed) if key is None else _unseen(listed, key, known)
            yield Page(number, rows, total, len(listed))
            if not listed or (len(listed) < limit if total is None else number * limit >= total):
                return
            if key is not None and not rows:
                logger.warning("%s page %d repeated earlier rows; stopping the read", what, number)
                return
            number += 1

    def offset_pages(self, fetch: Callable[[int], Sequence[T]], *, limit: int) -> Iterator[Page[T]]:
        """Offset + limit paging without totals: `fetch(offset)` answers up to `limit` rows; a short page
        is the end."""
        offset, number = 0, 1
        while True:
            rows = fetch(offset)
            yield Page(number, rows, None, len(rows))
            if len(rows) < limit:
                return
            offset, number = offset + limit, number + 1

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _unseen(rows: Sequence[T], key: Callable[[T], Hashable | None], seen: set[Any]) -> list[T]:
    fresh: list[T] = []
    for row in rows:
        identity = key(row)
        if identity:
            if identity in seen:
                continue
            seen.add(identity)
        fresh.append(row)
    return fresh
