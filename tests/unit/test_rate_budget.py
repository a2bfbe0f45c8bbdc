"""The shared DynamoDB token bucket: one limit across callers, orders first, throttling shared."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from sandbox.local import create_table
from shared import topology
from shared.clock import VirtualClock
from shared.errors import StepAsideError
from shared.stores.rate_budget import DynamoTokenBucket, budget_shape


@pytest.fixture
def table(aws: None) -> Any:
    spec = next(t for t in topology.TABLES if t.name == topology.BUDGET_TABLE)
    create_table(boto3.client("dynamodb"), "budgets", spec)
    return boto3.resource("dynamodb").Table("budgets")


def bucket(table: Any, clock: VirtualClock, priority: str = "orders", key: str = "cin7_core:acct") -> DynamoTokenBucket:
    rate, burst = budget_shape(60)  # as Runtime.budget builds it
    return DynamoTokenBucket(
        table, key, rate=rate, per_seconds=60, capacity=burst, clock=clock, priority=lambda: priority
    )  # type: ignore[arg-type,return-value]


def calls_in_any_minute(stamps: list[datetime]) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for s in stamps if start <= s < start + timedelta(seconds=60)) for start in stamps)


def test_two_callers_share_one_limit(table: Any, clock: VirtualClock) -> None:
    """Two 'Lambdas' (separate bucket objects, one item) never exceed 60 calls in any rolling minute."""
    first, second = bucket(table, clock), bucket(table, clock)
    stamps = []
    for index in range(200):
        (first if index % 2 else second).acquire()
        stamps.append(clock.now())
    assert calls_in_any_minute(stamps) <= 59
    elapsed = (stamps[-1] - stamps[0]).total_seconds()
    assert 200 / (elapsed / 60) >= 56  # and the budget is used, not wasted


def test_separate_accounts_have_separate_budgets(table: Any, clock: VirtualClock) -> None:
    one, other = bucket(table, clock, key="cin7_core:a"), bucket(table, clock, key="cin7_core:b")
    start = clock.now()
    for _ in range(2):
        one.acquire()
        other.acquire()
    assert clock.now() == start  # both bursts available at once


def test_background_leaves_a_reserve_for_orders(table: Any, clock: VirtualClock) -> None:
    background, orders = bucket(table, clock, "background"), bucket(table, clock, "orders")
    start = clock.now()
    background.acquire()  # a burst of 2 less a reserve of 1
    assert clock.now() == start
    orders.acquire()
    assert clock.now() == start  # the reserve was there for the order


def test_background_stands_aside_while_an_order_waits(table: Any, clock: VirtualClock) -> None:
    def slow(priority: str) -> DynamoTokenBucket:  # 6 a minute: the next token is 10 s away
        return DynamoTokenBucket(
            table, "cin7_core:acct", rate=6, per_seconds=60, capacity=2, clock=clock, priority=lambda: priority
        )  # type: ignore[arg-type]

    background, orders = slow("background"), slow("orders")
    for _ in range(2):
        orders.acquire()  # the bucket is empty
    orders.acquire()  # waits for a token and flags that an order is waiting
    state = table.get_item(Key={"pk": "cin7_core:acct"})["Item"]
    assert float(state["orders_waiting_until"]) > clock.now().timestamp()
    before = clock.now()
    background.acquire()
    assert clock.now().timestamp() >= float(state["orders_waiting_until"]) > before.timestamp()


def test_an_order_waiting_for_the_next_token_writes_the_bucket_once(table: Any, clock: VirtualClock) -> None:
    """At the steady rate the next token is about a second away: the caller sleeps and takes it, one write
    per call; a background caller needs its reserve as well, so it could not have taken that token first."""
    counted = CountingTable(table)
    rate, burst = budget_shape(60)
    orders = DynamoTokenBucket(counted, "cin7_core:acct", rate=rate, per_seconds=60, capacity=burst, clock=clock)
    start = clock.now()
    for _ in range(3):
        orders.acquire()  # the burst of 2, then a wait for the next token
    assert counted.calls == ["get", "put", "put", "put"]
    assert (clock.now() - start).total_seconds() == pytest.approx(60 / rate, abs=0.01)
    assert float(table.get_item(Key={"pk": "cin7_core:acct"})["Item"]["orders_waiting_until"]) == 0


def test_a_throttle_blocks_every_caller(table: Any, clock: VirtualClock) -> None:
    first, second = bucket(table, clock), bucket(table, clock)
    first.penalise(30)
    start = clock.now()
    second.acquire()
    assert (clock.now() - start).total_seconds() >= 30


def test_every_hop_that_calls_a_platform_draws_on_the_shared_budget() -> None:
    for hop in topology.HOPS:
        if any(path.endswith("credentials_secret") for path in hop.secrets):
            assert set(hop.tables.get(topology.BUDGET_TABLE, ())) >= set(topology.RATE_BUDGET), hop.name


class CountingTable:
    """The table resource, counting the calls a bucket makes."""

    def __init__(self, table: Any):
        self.table = table
        self.calls: list[str] = []

    def get_item(self, **kwargs: Any) -> Any:
        self.calls.append("get")
        return self.table.get_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        self.calls.append("put")
        return self.table.put_item(**kwargs)


def test_a_lone_caller_spends_one_dynamodb_call_per_platform_call(table: Any, clock: VirtualClock) -> None:
    counted = CountingTable(table)
    alone = DynamoTokenBucket(counted, "scend:acct", rate=120, per_seconds=60, capacity=40, clock=clock)
    for _ in range(30):
        alone.acquire()
    # One read to learn the bucket, then one conditional write per call
    assert counted.calls == ["get"] + ["put"] * 30


def test_a_lost_race_learns_the_winners_bucket_from_the_refusal(table: Any, clock: VirtualClock) -> None:
    counted = CountingTable(table)
    mine = DynamoTokenBucket(counted, "scend:acct", rate=120, per_seconds=60, capacity=40, clock=clock)
    other = DynamoTokenBucket(table, "scend:acct", rate=120, per_seconds=60, capacity=40, clock=clock)
    mine.acquire()
    other.acquire()  # moves the bucket behind my back
    before = len(counted.calls)
    mine.acquire()
    # Then my stale write is refused, the refusal carries the current item, and the retry lands: no read
    assert counted.calls[before:] == ["put", "put"]
    assert mine.stats.conflicts == 1
    assert int(table.get_item(Key={"pk": "scend:acct"})["Item"]["version"]) == 3


def test_while_the_target_sheds_load_background_steps_aside_and_orders_wait_their_turn(
    table: Any, clock: VirtualClock
) -> None:
    """SFCC's THROTTLE header holds the bucket (`shed`): an order caller waits the hold out, a background
    caller raises StepAsideError at once, without sleeping, saying how long the hold has left."""
    background, orders = bucket(table, clock, "background", "sfcc:x"), bucket(table, clock, "orders", "sfcc:x")
    orders.acquire()
    orders.shed(10)
    start = clock.now()
    with pytest.raises(StepAsideError) as aside:
        background.acquire()
    assert clock.now() == start and aside.value.resume_after == pytest.approx(10)
    orders.acquire()
    assert (clock.now() - start).total_seconds() == pytest.approx(10, abs=0.01)
    # And the order caller that waited the hold out marked itself waiting, so background gives way to it next
    item = table.get_item(Key={"pk": "sfcc:x"})["Item"]
    assert float(item["orders_waiting_until"]) >= start.timestamp() + 10
    assert background.stats.stepped_aside == 1


def test_a_throttle_is_not_load_shedding_background_waits_it_out(table: Any, clock: VirtualClock) -> None:
    background = bucket(table, clock, "background", "cin7_core:y")
    background.penalise(5)
    start = clock.now()
    background.acquire()
    assert (clock.now() - start).total_seconds() >= 5 and background.stats.stepped_aside == 0


def test_background_gives_way_before_a_wait_past_its_invocations_deadline(table: Any, clock: VirtualClock) -> None:
    rate, burst = budget_shape(60)
    deadline = clock.now().timestamp() + 20
    background = DynamoTokenBucket(
        table,
        "cin7_core:z",
        rate=rate,
        per_seconds=60,
        capacity=burst,
        clock=clock,
        priority=lambda: "background",
        deadline=lambda: deadline,
        deadline_margin=15,
    )
    background.acquire()  # 20 s left: a call without a wait fits
    background.penalise(30)
    start = clock.now()
    with pytest.raises(StepAsideError):
        background.acquire()  # a 30 s wait would end past the deadline
    assert clock.now() == start


def test_every_background_queue_hop_may_send_to_its_own_queue() -> None:
    """What a background queue hop leaves for later (StepAsideError) goes back to its own queue."""
    for hop in topology.HOPS:
        if hop.priority == "background" and isinstance(hop.trigger, topology.QueueTrigger):
            assert hop.trigger.queue in hop.sends_to, hop.name


def _cin7(table: Any, clock: VirtualClock, priority: str = "orders", key: str = "cin7_core:acct") -> DynamoTokenBucket:
    rate, burst = budget_shape(60)
    return DynamoTokenBucket(
        table, key, rate=rate, per_seconds=60, capacity=burst, clock=clock, priority=lambda: priority
    )  # type: ignore[arg-type]


def test_a_prepaid_sequence_takes_its_turns_in_one_write_at_the_times_one_by_one_would(
    table: Any, clock: VirtualClock
) -> None:
    """Four sequences of 3 from a full bucket: one write each, every call when one-by-one would make it."""

    def offsets(budget: DynamoTokenBucket, sequence: int) -> list[float]:
        start = clock.now()
        stamps = []
        for _ in range(12 // sequence):
            with budget.prepay(sequence):
                for _ in range(sequence):
                    budget.acquire()
                    stamps.append((clock.now() - start).total_seconds())
        return stamps

    one_by_one = offsets(_cin7(table, clock, key="cin7_core:a"), 1)
    counted = CountingTable(table)
    prepaid = offsets(_cin7(counted, clock, key="cin7_core:b"), 3)  # type: ignore[arg-type]
    assert counted.calls == ["get"] + ["put"] * 4
    assert prepaid == pytest.approx(one_by_one, abs=0.01)
    assert one_by_one[:3] == pytest.approx([0, 0, 60 / 57], abs=0.01)  # the burst of 2, then the steady rate


def test_prepaid_callers_and_others_never_exceed_the_limit(table: Any, clock: VirtualClock) -> None:
    sequences, single = _cin7(table, clock), _cin7(table, clock)
    stamps = []
    for index in range(60):
        if index % 2:
            single.acquire()
            stamps.append(clock.now())
        else:
            with sequences.prepay(3):
                for _ in range(3):
                    sequences.acquire()
                    stamps.append(clock.now())
    assert calls_in_any_minute(stamps) <= 59
    elapsed = (stamps[-1] - stamps[0]).total_seconds()
    assert len(stamps) / (elapsed / 60) >= 56


def test_the_turns_a_sequence_did_not_use_go_back(table: Any, clock: VirtualClock) -> None:
    counted = CountingTable(table)
    mine, other = _cin7(counted, clock), _cin7(table, clock)  # type: ignore[arg-type]
    with mine.prepay(3):
        mine.acquire()  # the pick was refused: pack and ship never happen
    assert counted.calls == ["get", "put", "put"]  # the take, then the give-back
    start = clock.now()
    other.acquire()  # the burst's second token is there again, without waiting
    assert clock.now() == start


def test_a_throttle_in_a_sequence_drops_its_prepaid_turns(table: Any, clock: VirtualClock) -> None:
    mine = _cin7(table, clock)
    with mine.prepay(3):
        mine.acquire()
        mine.penalise(30)
        start = clock.now()
        mine.acquire()  # the retry waits out the hold like any other call
        assert (clock.now() - start).total_seconds() >= 30


def test_a_background_sequence_is_acquired_call_by_call(table: Any, clock: VirtualClock) -> None:
    counted = CountingTable(table)
    background = _cin7(counted, clock, "background")  # type: ignore[arg-type]
    with background.prepay(3):
        for _ in range(3):
            background.acquire()
    assert counted.calls == ["get", "put", "put", "put"]
