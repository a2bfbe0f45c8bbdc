"""Time as a dependency, so the sandbox can run a day in seconds and tests never sleep."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...

    def jitter(self, name: str) -> random.Random:
        """The random source for `name`'s retry backoff: when a retry fires is part of time."""
        ...


class SystemClock:
    """Wall clock for deployed Lambdas."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def jitter(self, name: str) -> random.Random:
        """Seeded by the OS: instances of one function spread their retries apart."""
        del name
        return random.Random()


class VirtualClock:
    """A shared, thread-safe simulated clock: sleeping advances it instead of blocking."""

    def __init__(self, start: datetime | None = None, *, seed: int = 0):
        self._now = start or datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
        self.seed = seed
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        with self._lock:
            self.slept += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=max(0.0, seconds))

    def jitter(self, name: str) -> random.Random:
        """Seeded by the clock's seed and `name`: a seeded day retries at the same moments every run."""
        return random.Random(f"{self.seed}|{name}")
