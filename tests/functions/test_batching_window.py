"""The sandbox's SQS poller under a batching window (push_stock's, from the example client's stock settings):
a message waits for the window on the virtual clock, a full batch goes at once, a flush delivers everything,
and stock events of one window cost one availability read."""

from __future__ import annotations

import boto3

from shared.models.stock import StockSyncMessage
from tests.functions.conftest import Harness
from tests.functions.test_stock import channel, seed, stock_event, stock_round

QUEUE = "stock-sync"


def send(harness: Harness, count: int = 1, *, delay: int = 0) -> None:
    message = StockSyncMessage(
        client=harness.local.config.client, trigger="event", skus=["TEE-WHT-L"], read_at=harness.clock.now()
    )
    for _ in range(count):
        boto3.client("sqs").send_message(
            QueueUrl=harness.local.queue_urls[QUEUE], MessageBody=message.model_dump_json(), DelaySeconds=delay
        )


def pushes(harness: Harness) -> int:
    return harness.local.invocations["push_stock"]


def availability_reads(harness: Harness) -> int:
    return sum(count for route, count in harness.cin7.requests.items() if "productavailability" in route)


def test_a_message_waits_until_the_window_has_passed_on_the_virtual_clock(harness: Harness) -> None:
    window = harness.local.config.stock.event_window_seconds
    assert window >= 10
    seed(harness)
    send(harness)
    # Before the window has passed, a drain leaves the message waiting and does not spin the clock for it
    started = harness.clock.now()
    harness.local.drain()
    assert (pushes(harness), harness.local.waiting(QUEUE)) == (0, 1)
    assert (harness.clock.now() - started).total_seconds() < window
    harness.clock.advance(window - 5)
    harness.local.drain()
    assert pushes(harness) == 0
    # Once the oldest message has waited the window, the next drain delivers it
    harness.clock.advance(5)
    harness.local.drain()
    assert (pushes(harness), harness.local.waiting(QUEUE)) == (1, 0)


def test_a_delayed_message_waits_the_window_from_when_its_delay_ends(harness: Harness) -> None:
    window = harness.local.config.stock.event_window_seconds
    seed(harness)
    send(harness, delay=window)
    harness.clock.advance(window + 1)  # receivable now, not yet waited
    harness.local.drain()
    assert pushes(harness) == 0
    harness.clock.advance(window)
    harness.local.drain()
    assert pushes(harness) == 1


def test_a_full_batch_goes_at_once_in_one_invocation(harness: Harness) -> None:
    batch = harness.local.config.stock.messages_per_invocation
    assert batch > 10  # more than one SQS receive holds
    seed(harness)
    send(harness, batch - 1)
    harness.local.drain()
    assert pushes(harness) == 0
    send(harness)
    harness.local.drain()
    assert (pushes(harness), harness.local.waiting(QUEUE)) == (1, 0)


def test_flush_delivers_everything_waiting_now(harness: Harness) -> None:
    seed(harness)
    send(harness, 3)
    harness.local.drain(flush=True)
    assert (pushes(harness), harness.local.waiting(QUEUE)) == (1, 0)
    # And the day's flush runs only when a windowed queue holds something
    assert harness.local.flush() == 0
    send(harness)
    assert harness.local.flush() >= 1 and harness.local.waiting(QUEUE) == 0


def test_stock_events_within_one_window_are_served_by_one_read(harness: Harness) -> None:
    window = harness.local.config.stock.event_window_seconds
    seed(harness)
    seed(harness, "CAP-NVY-S", units=20, retail=0)
    stock_round(harness)
    assert (channel(harness, "TEE-WHT-L"), channel(harness, "CAP-NVY-S")) == (38, 19)
    reads = availability_reads(harness)
    # Given three events from Cin7 within the window, both SKUs sold down
    harness.cin7.adjust_stock("TEE-WHT-L", "Scend UK", -10)
    stock_event(harness, ["TEE-WHT-L"])
    harness.clock.advance(window // 3)
    harness.local.drain()
    harness.cin7.adjust_stock("CAP-NVY-S", "Scend UK", -5)
    stock_event(harness, ["CAP-NVY-S"])
    harness.clock.advance(window // 3)
    harness.local.drain()
    stock_event(harness, ["TEE-WHT-L", "CAP-NVY-S"])
    harness.local.drain()
    # Then nothing is read or pushed before the window has passed
    assert availability_reads(harness) == reads and harness.local.waiting(QUEUE) == 3
    assert channel(harness, "TEE-WHT-L") == 38
    # When it has, one invocation takes all three, one read serves them, and both decreases go out
    harness.clock.advance(window - 2 * (window // 3))
    harness.local.drain()
    assert availability_reads(harness) == reads + 1
    assert (channel(harness, "TEE-WHT-L"), channel(harness, "CAP-NVY-S")) == (28, 14)  # less 5%, rounded up
