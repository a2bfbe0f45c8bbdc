"""The submit claim: exactly one warehouse order per sale with no help from the warehouse and no idempotency
record, however many submitters race, and whatever fails between the warehouse write and the ledger's.

Every test calls the step below the handler's Powertools idempotency, against a Scend simulator that accepts
a repeated reference, so the ledger's claim is the only guard.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from shared.connectors.spec import Role
from shared.errors import SubmitClaimHeldError, TransientError
from shared.models.messages import SubmitMessage
from shared.steps.order_submit import lease_seconds, submit_order
from shared.stores.ledger import Stage, SubmitClaim
from tests.functions.conftest import Harness

THREADS = 8
SALES_PER_ROUND = 10


def release(h: Harness, numbers: list[str]) -> list[SubmitMessage]:
    """Sales taken in by intake and released: one submit message each (consumed from the queue)."""
    for number in numbers:
        h.webhook(h.add_sale(number))
    h.local.drain_queue("order-intake")
    bodies = h.queue_bodies("order-submit")
    messages = sorted((SubmitMessage.model_validate(b) for b in bodies), key=lambda m: m.client_reference)
    assert len(messages) == len(numbers)
    return messages


def like(h: Harness, template: SubmitMessage, numbers: list[str]) -> list[SubmitMessage]:
    """Released sales shaped like `template` (one intake pass is slow; the race is about the submit): each is
    received and released in the ledger as intake leaves it, with its own source id and reference."""
    messages = []
    for number in numbers:
        source_id = f"{template.source_id}-{number.lower()}"
        message = template.model_copy(
            update={
                "source_id": source_id,
                "client_reference": f"EXA-{number}",
                "order": template.order.model_copy(update={"source_id": source_id, "order_number": number}),
            }
        )
        h.rt.ledger.record_delivery(message.order_key, order_number=number, trigger="webhook", now=h.clock.now())
        h.rt.ledger.set_stage(message.order_key, Stage.RELEASED, h.clock.now())
        messages.append(message)
    return messages


def race(h: Harness, messages: list[SubmitMessage], threads: int = THREADS, seed: int = 0) -> Counter[str]:
    """`threads` submitters released together by a barrier, each submitting every message in its own order."""
    barrier = threading.Barrier(threads)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def submitter(index: int) -> None:
        order = list(messages)
        random.Random(seed * 1000 + index).shuffle(order)
        barrier.wait()
        for message in order:
            try:
                outcome = submit_order(message, h.rt)["outcome"]
            except SubmitClaimHeldError:
                outcome = "backed_off"
            except BaseException as error:  # noqa: BLE001 - reported by the test below
                errors.append(error)
                continue
            with lock:
                outcomes[outcome] += 1

    workers = [threading.Thread(target=submitter, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors, errors
    return outcomes


def assert_one_order_each(h: Harness, messages: list[SubmitMessage]) -> None:
    """Judged by what the warehouse holds: one order per reference, and the ledger names that order."""
    at_warehouse = h.scend.orders_by_reference()
    for message in messages:
        orders = at_warehouse.get(message.client_reference, [])
        assert len(orders) == 1, f"{message.client_reference}: {len(orders)} orders at the warehouse"
        entry = h.rt.ledger.get(message.order_key)
        assert entry is not None and entry.stage == Stage.SUBMITTED
        assert entry.warehouse_order_id == str(orders[0]["ID"])


def test_eight_submitters_of_the_same_sales_make_one_warehouse_order_each(harness: Harness) -> None:
    # Given a warehouse that accepts a repeated reference and no idempotency record in front of the step
    harness.scend.enforce_unique_reference = False
    [template] = release(harness, ["SO-TEMPLATE"])
    for round_ in range(3):
        messages = like(harness, template, [f"SO-R{round_}-{n}" for n in range(SALES_PER_ROUND)])
        # When eight submitters race over the same ten sales
        outcomes = race(harness, messages, seed=round_)
        # Then each sale was created once; every other attempt backed off or found it submitted
        assert outcomes["created"] == SALES_PER_ROUND
        assert outcomes["created"] + outcomes["already_submitted"] + outcomes["backed_off"] == (
            THREADS * SALES_PER_ROUND
        )
        assert_one_order_each(harness, messages)
    assert harness.scend.duplicate_references() == 0


def test_a_delivery_that_meets_a_held_claim_is_retried_later_not_quarantined(harness: Harness) -> None:
    [message] = release(harness, ["SO-HELD"])
    # Given another submitter holding the order's claim
    harness.rt.ledger.claim_submit(
        message.order_key,
        owner="elsewhere",
        now=harness.clock.now(),
        lease_seconds=lease_seconds(harness.rt.config),
        client_reference=message.client_reference,
    )
    # When the handler gets the order: the record fails (SQS redelivers it), with no warehouse call
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries the batch
        harness.invoke("order_submit", harness.sqs_event(message.model_dump(mode="json")))
    assert harness.scend.create_attempts == 0
    assert harness.rt.exceptions.list() == []
    # Then the redelivery after the holder's lease looks the order up, and creates it
    harness.clock.advance(lease_seconds(harness.rt.config))
    response = harness.invoke("order_submit", harness.sqs_event(message.model_dump(mode="json")))
    assert response == {"batchItemFailures": []}
    assert_one_order_each(harness, [message])


class Killed(BaseException):
    """The process dies here (a Lambda timeout or out of memory): no handler of ours runs."""


class FailAfterWrite:
    """The real warehouse client; after the create lands, the submit fails before its result write."""

    def __init__(self, real: Any, error: BaseException):
        self.real, self.error = real, error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def create_order(self, *args: Any) -> Any:
        self.real.create_order(*args)
        raise self.error


def test_a_submit_that_dies_after_the_warehouse_write_is_found_there_after_the_lease(harness: Harness) -> None:
    harness.scend.enforce_unique_reference = False
    [message] = release(harness, ["SO-DIES"])
    # Given a submit that created the order and died before recording it (its claim still held)
    harness.rt.override(Role.ORDER_TARGET, FailAfterWrite(harness.rt.role(Role.ORDER_TARGET), Killed()))
    with pytest.raises(Killed):
        submit_order(message, harness.rt)
    harness.rt.override(Role.ORDER_TARGET, harness.rt.role(Role.ORDER_TARGET).real)
    entry = harness.rt.ledger.get(message.order_key)
    assert entry is not None and entry.warehouse_order_id is None and entry.submit_lease_until is not None
    # When it is retried within the lease, the retry backs off (the holder may still be writing)
    with pytest.raises(SubmitClaimHeldError) as held:
        submit_order(message, harness.rt)
    assert 0 < (held.value.retry_after or 0) <= lease_seconds(harness.rt.config)
    creates = harness.scend.create_attempts
    # And once the lease is over, the retry looks the order up by its reference instead of creating it
    harness.clock.advance(lease_seconds(harness.rt.config))
    assert submit_order(message, harness.rt)["outcome"] == "found"
    assert harness.scend.create_attempts == creates
    assert_one_order_each(harness, [message])


def test_a_submit_that_fails_after_the_warehouse_write_hands_over_and_the_retry_finds_it(harness: Harness) -> None:
    harness.scend.enforce_unique_reference = False
    [message] = release(harness, ["SO-FAILS"])
    # Given a submit that created the order and then failed (the ledger write refused) before recording it
    harness.rt.override(
        Role.ORDER_TARGET, FailAfterWrite(harness.rt.role(Role.ORDER_TARGET), TransientError("ledger unavailable"))
    )
    with pytest.raises(TransientError):
        submit_order(message, harness.rt)
    harness.rt.override(Role.ORDER_TARGET, harness.rt.role(Role.ORDER_TARGET).real)
    # Then the ledger holds it as maybe at the warehouse, and the holder gave its claim up
    entry = harness.rt.ledger.get(message.order_key)
    assert entry is not None and entry.stage == Stage.RELEASED and entry.submit_attempts == 1
    # When it is retried at once, the retry looks it up first: still one order, now recorded
    assert submit_order(message, harness.rt)["outcome"] == "found"
    assert harness.scend.create_attempts == 1
    assert_one_order_each(harness, [message])


class TakenOverDuringCreate:
    """The real warehouse client; the first create outlives its claim's lease, and a second submitter takes the
    claim over and submits before the first create lands."""

    def __init__(self, h: Harness, message: SubmitMessage):
        self.real, self.h, self.message = h.rt.role(Role.ORDER_TARGET), h, message
        self.second: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def create_order(self, *args: Any) -> Any:
        if not self.second:
            self.second.append("running")
            self.h.clock.advance(lease_seconds(self.h.rt.config) + 1)
            self.second[0] = submit_order(self.message, self.h.rt)["outcome"]
        return self.real.create_order(*args)


def test_a_holder_that_outlived_its_lease_cannot_overwrite_the_ledger(harness: Harness) -> None:
    harness.scend.enforce_unique_reference = False
    [message] = release(harness, ["SO-SLOW"])
    # Given a holder still inside the warehouse call when its lease ends, and a second submitter that takes over
    # (which is why the lease must outlast the submit hop's timeout: here both create, as nothing stops a
    # holder the platform does not kill)
    slow = TakenOverDuringCreate(harness, message)
    harness.rt.override(Role.ORDER_TARGET, slow)
    # When the slow holder's create returns, its result write no longer holds the claim: it is refused
    with pytest.raises(TransientError):
        submit_order(message, harness.rt)
    harness.rt.override(Role.ORDER_TARGET, slow.real)
    # Then the ledger keeps what the current holder recorded
    assert slow.second == ["created"]
    first, late = harness.scend.orders_by_reference()[message.client_reference]
    entry = harness.rt.ledger.get(message.order_key)
    assert entry is not None and entry.warehouse_order_id == str(first["ID"]) != str(late["ID"])


def test_a_submit_logged_at_info_returns_its_outcome(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    # The log line's fields must not collide with the log record's own attributes (such as `created`)
    from shared.steps import order_submit

    [message] = release(harness, ["SO-INFO"])
    with caplog.at_level(logging.INFO, logger=order_submit.logger.name):
        assert submit_order(message, harness.rt)["outcome"] == "created"
    assert any(r.getMessage() == "order at warehouse" for r in caplog.records)


def test_an_attempt_recorded_before_leases_holds_for_one_lease_from_its_start(harness: Harness) -> None:
    # Given an entry whose attempt began before claims carried a lease (only its start is recorded)
    ledger, lease = harness.rt.ledger, lease_seconds(harness.rt.config)
    started = harness.clock.now()
    ledger.table.update_item(
        Key={"pk": "example-cin7-scend#cin7_core#old"},
        UpdateExpression="SET client_id = :c, submit_started_at = :at, submit_attempts = :one",
        ExpressionAttributeValues={":c": "example-cin7-scend", ":at": started.isoformat(), ":one": 1},
    )
    # When another submit claims it within that lease, it backs off until the lease would have ended
    harness.clock.advance(lease / 2)
    with pytest.raises(SubmitClaimHeldError) as held:
        ledger.claim_submit(
            "cin7_core#old", owner="new", now=harness.clock.now(), lease_seconds=lease, client_reference="EXA-OLD"
        )
    assert held.value.retry_after == pytest.approx(lease / 2)
    # Then after it, the claim is granted, and the new holder looks the order up first
    harness.clock.advance(lease / 2)
    claim = ledger.claim_submit(
        "cin7_core#old", owner="new", now=harness.clock.now(), lease_seconds=lease, client_reference="EXA-OLD"
    )
    assert isinstance(claim, SubmitClaim) and claim.maybe_at_warehouse
