"""One rate budget per target account, shared by every function that calls it, in DynamoDB.

Cin7 Core allows 60 calls a minute per application key: not per Lambda, not per flow. Orders, stock
and catalogue hops, however many run at once, draw from one token bucket held in a single DynamoDB item
and updated with optimistic concurrency (a version condition), so the platform never sees call 61.
Each caller keeps the bucket as it last wrote or saw it and writes against that version straight away:
one DynamoDB call per platform call while nobody else draws, and a lost race returns the winner's item
with the refusal, so it costs no extra read either.

Priorities: order hops draw freely; background hops (stock, catalogue) leave a reserve in the bucket
and stand aside while an order hop is waiting (an order waiting for the next token is ahead of them by the
reserve; one queued longer flags the bucket), so a stock backlog never delays an order. A throttling
response (429/503) from the target blocks the whole bucket for the wait it asked for.

A known sequence of calls (Cin7's pick, pack and ship of one parcel) is prepaid in one write (`prepay`): the
bucket gives up the sequence's tokens at once, going into debt for those not yet refilled, and the caller
spaces its calls at the times the tokens come due, as it would have been admitted one by one. Tokens a
sequence did not use (a refused pick) go back in one more write.

Load shedding (SFCC's `sfdc_load_status` WARN/THROTTLE on any answer) holds the bucket too (`shed`), and
while it lasts a background caller never waits its turn: it raises StepAsideError and its hop leaves the rest
of its work for later, so the order poll waits behind at most the one background call already made. A
background caller also gives way when a wait would leave its invocation too little time (`deadline`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from shared.clock import Clock
from shared.errors import StepAsideError

Priority = Literal["orders", "background"]

# An order caller waiting longer than this for a token flags the bucket (`orders_waiting_until`). A shorter
# wait is the next token at the steady rate (about a second at 57 a minute): a background caller, which
# needs its reserve as well as the token, cannot take it first, so flagging it would only double the
# DynamoDB writes of a busy bucket.
ORDERS_WAITING_FLAG_SECONDS = 2.0

# The longest sequence prepaid in one write: its last call is then at most a few seconds away, so another
# caller's throttle hold (which prepaid calls do not re-read) can catch at most this many calls.
MAX_PREPAID_CALLS = 4


def budget_shape(calls: int) -> tuple[int, int]:
    """(refill per window, burst) for a limit of `calls` per window.

    A bucket admits up to burst + refill calls in one window. One call of margin absorbs the skew
    between when we count a call and when the platform does (network latency moves calls across the
    platform's window edge); a small burst keeps the steady rate high: 60/min -> 57/min + a burst of 2.
    """
    burst = max(1, calls // 30)
    return max(1, calls - burst - 1), burst


@dataclass
class BudgetStats:
    acquired: int = 0
    waited_seconds: float = 0.0
    conflicts: int = 0
    stepped_aside: int = 0


class DynamoTokenBucket:
    """A token bucket in one DynamoDB item: `rate` tokens per `per_seconds`, at most `capacity` banked.

    Any window of `per_seconds` admits at most capacity + rate calls; callers choose both so that sum is
    the platform's limit. Sleeping goes through the clock (virtual in the sandbox).
    """

    def __init__(
        self,
        table: Any,
        key: str,
        *,
        rate: int,
        per_seconds: float,
        capacity: int,
        clock: Clock,
        priority: Callable[[], Priority] = lambda: "orders",
        reserve: int | None = None,
        rng: random.Random | None = None,
        deadline: Callable[[], float | None] = lambda: None,
        deadline_margin: float = 0.0,
    ):
        self.table = table
        self.key = key
        self.rate = rate
        self.per_seconds = per_seconds
        self.capacity = capacity
        self.clock = clock
        self.priority = priority
        # Background work leaves this many tokens for orders (at least one, at most half the burst).
        self.reserve = reserve if reserve is not None else max(1, capacity // 2)
        self.rng = rng or clock.jitter(f"budget|{key}")
        # When the calling invocation must be done (epoch seconds; None: no limit), and the time a call and
        # the invocation's own wrap-up need before it: a background caller never starts a wait past it.
        self.deadline = deadline
        self.deadline_margin = deadline_margin
        self.stats = BudgetStats()
        self._known: dict[str, Any] | None = None  # the item as this caller last wrote or saw it
        self._prepaid: list[float] = []  # when each prepaid call of the current sequence is due (epoch s)

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _read(self, now: float) -> dict[str, Any]:
        """The bucket as last known here; read (consistently) only when nothing is known yet."""
        if self._known is not None:
            return self._known
        item = self.table.get_item(Key={"pk": self.key}, ConsistentRead=True).get("Item")
        self._known = dict(item) if item is not None else self._fresh(now)
        return self._known

    def _fresh(self, now: float) -> dict[str, Any]:
        return {
            "tokens": Decimal(self.capacity),
            "stamp": Decimal(str(now)),
            "blocked_until": Decimal(0),
            "orders_waiting_until": Decimal(0),
            "shedding_until": Decimal(0),
            "version": 0,
            "new": True,
        }

    def _write(self, state: dict[str, Any], **changes: Any) -> bool:
        """Conditional on the version `state` holds: False when another caller moved the bucket first,
        and then the item it left is what this caller knows."""
        values = {**{k: v for k, v in state.items() if k not in ("pk", "new")}, **changes}
        values["version"] = int(state["version"]) + 1
        item = {"pk": self.key, **{k: _dec(v) for k, v in values.items()}}
        try:
            self.table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(pk)" if state.get("new") else "version = :v",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **({} if state.get("new") else {"ExpressionAttributeValues": {":v": int(state["version"])}}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                self.stats.conflicts += 1
                current: Any = exc.response.get("Item")
                self._known = _item(current) if current else None  # None: read it next time
                return False
            raise
        self._known = item
        return True

    def acquire(self, cost: int = 1) -> None:
        if self._prepaid:
            self._use_prepaid()
            return
        self._take(cost)

    @contextmanager
    def prepay(self, calls: int) -> Iterator[None]:
        """The next `calls` acquires are one sequence: an order caller takes their tokens in one write (the
        first now, each later one when the bucket would have refilled it) and gives back what it did not
        use. A background caller, or a sequence of one, acquires call by call as usual."""
        if calls <= 1 or self._prepaid or self.priority() == "background":
            yield
            return
        self._take(1, ahead=min(calls, MAX_PREPAID_CALLS) - 1)
        try:
            yield
        finally:
            unused, self._prepaid = len(self._prepaid), []
            if unused:
                self._refund(unused)

    def _tokens_at(self, state: dict[str, Any], now: float) -> float:
        """The bucket's tokens at `now`: what `state` held, refilled since its stamp, at most the capacity."""
        elapsed = max(0.0, now - float(state["stamp"]))
        return min(float(self.capacity), float(state["tokens"]) + elapsed * self.rate / self.per_seconds)

    def _use_prepaid(self) -> None:
        due = self._prepaid.pop(0)
        wait = due - self._now()
        if wait > 0:
            self._sleep(wait)
        self.stats.acquired += 1

    def _refund(self, unused: int) -> None:
        """Give back the tokens of prepaid calls not made; best effort (a few tries), as a lost token only
        costs throughput."""
        for _ in range(5):
            now = self._now()
            state = self._read(now)
            tokens = self._tokens_at(state, now)
            if self._write(state, tokens=min(float(self.capacity), tokens + unused), stamp=now):
                return

    def _take(self, cost: int, ahead: int = 0) -> None:
        """Take `cost` tokens, and `ahead` more for prepaid calls (the bucket may go into debt for those)."""
        background = self.priority() == "background"
        while True:
            now = self._now()
            state = self._read(now)
            blocked = float(state["blocked_until"])
            shedding = now < float(state.get("shedding_until", 0))
            if now < blocked:
                if background:
                    self._give_way(now, blocked - now, shedding, "the target is shedding load")
                elif shedding and float(state.get("orders_waiting_until", 0)) < blocked:
                    # Order work is waiting out the hold: background callers must not take the next turn.
                    self._write(state, orders_waiting_until=blocked + 0.25)
                    continue
                self._sleep(blocked - now)
                continue
            orders_waiting = float(state.get("orders_waiting_until", 0))
            if background and now < orders_waiting:
                self._give_way(now, orders_waiting - now, shedding, "order work is waiting on a load-shedding target")
                self._sleep(orders_waiting - now)
                continue
            tokens = self._tokens_at(state, now)
            needed = cost + (self.reserve if background else 0)
            if tokens >= needed - 1e-9:
                if background:
                    self._give_way(now, 0.0, False, "")
                left = tokens - cost - ahead if ahead else max(0.0, tokens - cost)
                if self._write(state, tokens=left, stamp=now):
                    if ahead:  # the sequence's calls, this one first, each when its token comes due
                        step = self.per_seconds / self.rate
                        self._prepaid = [now + max(0.0, cost + n - tokens) * step for n in range(ahead + 1)]
                    else:
                        self.stats.acquired += 1
                    return
                self._sleep(self.rng.uniform(0, 0.05))  # lost a race: re-read at once, with a little jitter
                continue
            wait = (needed - tokens) * self.per_seconds / self.rate
            if background:
                self._give_way(now, wait, False, "")
            elif wait > ORDERS_WAITING_FLAG_SECONDS:
                # A long wait (callers queued on the bucket): say so, for background callers and operators.
                self._write(state, tokens=tokens, stamp=now, orders_waiting_until=now + wait + 0.25)
            self._sleep(wait)

    def _give_way(self, now: float, wait: float, shedding: bool, why: str) -> None:
        """A background caller about to wait `wait` seconds: raise StepAsideError while the target sheds load, or
        when the wait and a call would run past the invocation's deadline."""
        if shedding:
            self.stats.stepped_aside += 1
            raise StepAsideError(
                f"{self.key}: {why}; background work waits for later", resume_after=wait, shedding=True
            )
        deadline = self.deadline()
        if deadline is not None and now + wait + self.deadline_margin > deadline:
            self.stats.stepped_aside += 1
            raise StepAsideError(
                f"{self.key}: a wait of {wait:.1f} s and a call would run past the invocation's time",
                resume_after=wait,
            )

    def penalise(self, seconds: float) -> None:
        """The target throttled us: nobody calls it again until the wait it asked for has passed (prepaid
        calls of this caller included: the hold empties the bucket, debt and all)."""
        self._prepaid = []
        self._hold(seconds, shedding=False)

    def shed(self, seconds: float) -> None:
        """The target is shedding load: the same hold, and background callers step aside until it ends."""
        self._prepaid = []
        self._hold(seconds, shedding=True)

    def _hold(self, seconds: float, *, shedding: bool) -> None:
        for _ in range(10):
            now = self._now()
            state = self._read(now)
            until = max(float(state["blocked_until"]), now + seconds)
            changes: dict[str, Any] = {"tokens": 0.0, "stamp": now, "blocked_until": until}
            if shedding:
                changes["shedding_until"] = max(float(state.get("shedding_until", 0)), until)
            if self._write(state, **changes):
                return

    def _sleep(self, seconds: float) -> None:
        seconds = max(seconds, 1e-3)
        self.stats.waited_seconds += seconds
        self.clock.sleep(seconds)


def _dec(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(round(value, 6)))
    return value


_DESERIALIZER = TypeDeserializer()


def _item(wire: dict[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's wire shape (as a refused write returns it) as the table resource reads it."""
    return {key: _DESERIALIZER.deserialize(value) for key, value in wire.items()}
