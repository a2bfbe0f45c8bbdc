"""What every fake platform shares: a log of the calls made to it and errors it is told to raise."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from shared.clock import Clock, VirtualClock


@dataclass(frozen=True)
class Call:
    """One call a step made to a fake port: the method's name and its arguments as given."""

    method: str
    args: tuple[Any, ...] = ()


class FakePlatform:
    """In-memory platform state plus a call log, so a test judges a step by what the platform holds and
    by what was asked of it; `fail` makes a method raise (PermanentError, TransientError...) to reach
    failure paths without a simulator's fault plan."""

    name = "fake"

    def __init__(self, name: str | None = None, *, clock: Clock | None = None):
        if name is not None:
            self.name = name
        self.clock: Clock = clock or VirtualClock()
        self.calls: list[Call] = []
        self._failures: dict[str, list[tuple[BaseException, int | None]]] = defaultdict(list)

    def fail(self, method: str, error: BaseException, *, times: int | None = 1) -> None:
        """The next `times` calls to `method` raise `error` (None: every call, until `heal`); a call that
        raises is still logged, as the platform saw it arrive."""
        if not callable(getattr(self, method, None)):
            raise AttributeError(f"{type(self).__name__} has no method {method!r}")
        self._failures[method].append((error, times))

    def heal(self, method: str | None = None) -> None:
        """Stop raising for `method` (or for every method)."""
        if method is None:
            self._failures.clear()
        else:
            self._failures.pop(method, None)

    def called(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def _enter(self, method: str, *args: Any) -> None:
        """Log the call, then raise the first error queued for it."""
        self.calls.append(Call(method, args))
        queued = self._failures.get(method)
        if not queued:
            return
        error, times = queued[0]
        if times is not None:
            if times <= 1:
                queued.pop(0)
            else:
                queued[0] = (error, times - 1)
        raise error
