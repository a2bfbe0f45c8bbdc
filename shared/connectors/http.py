"""One outbound-call mechanism for every connector: classify, retry, honour Retry-After, spend budget.

Each connector supplies a classification table (rules, first match wins) that turns an httpx response
into a Disposition. Transient dispositions are retried in-process with exponential backoff and full
jitter (tenacity), capped, honouring Retry-After; after the last attempt the TransientError escapes so
SQS redelivers the message. Permanent dispositions raise PermanentError with the rule's reason code.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Protocol

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from shared.clock import Clock, SystemClock
from shared.config import RetryConfig
from shared.errors import AuthError, NotFoundError, PermanentError, RateLimitedError, TransientError
from shared.models.reasons import ReasonCode


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

    def penalise(self, seconds: float) -> None: ...


class UnlimitedBudget:
    def acquire(self, cost: int = 1) -> None:
        return None

    def penalise(self, seconds: float) -> None:
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

    def penalise(self, seconds: float) -> None:
        from datetime import timedelta

        with self._lock:
            self._tokens = 0.0
            until = self.clock.now() + timedelta(seconds=seconds)
            self._blocked_until = max(self._blocked_until, until)


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
        self.rng = rng or random.Random()
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
                raise AuthError(f"{where}: {rule.description}")
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
