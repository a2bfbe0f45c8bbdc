"""Cancellation on moto: the state machine executed by moto with the real hops, against the simulators;
and the cancel/submit race, interleaving by interleaving and concurrently, many times."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from shared.connectors.scend.client import ScendClient
from shared.connectors.spec import Role
from shared.errors import SubmitInFlightError, TransientError
from shared.flows.cancellation import ACCEPTED, Outcome, Place
from shared.models.messages import CancelRequest, CancelState, SubmitMessage
from shared.steps import cancellation
from shared.steps.order_submit import submit_order
from tests.functions.conftest import Harness

CANCELLED_AT_SCEND = 3


def void(h: Harness, sale_id: str) -> tuple[int, dict[str, Any]]:
    """The sale is voided at Cin7 Core and its Sale/Voided webhook arrives; the cancel queue is consumed."""
    h.cin7.void_sale(sale_id)
    result = h.webhook(sale_id, body=json.dumps(h.cin7.webhook_payload(sale_id, "Sale/Voided")))
    h.local.drain()
    return result


def hand_off(h: Harness, number: str) -> str:
    sale_id = h.add_sale(number)
    h.webhook(sale_id)
    h.local.drain()
    return sale_id


def only_execution(h: Harness) -> dict[str, Any]:
    (execution,) = h.local.executions()
    return execution


def output(execution: dict[str, Any]) -> dict[str, Any]:
    return json.loads(execution["output"])


def test_cancel_after_hand_off_before_pick_is_cancelled_at_the_warehouse_and_noted_on_the_sale(h: Harness) -> None:
    # Given an order handed to the warehouse five minutes ago (status new)
    sale_id = hand_off(h, "SO-1")
    h.clock.advance(300)
    # When the sale is voided at Cin7 Core
    status, body = void(h, sale_id)
    # Then one execution ran every step and cancelled the order at the warehouse
    assert (status, body) == (202, {"accepted": True, "messages": 1})
    execution = only_execution(h)
    assert execution["status"] == "SUCCEEDED"
    result = output(execution)
    assert result["lookup"]["route"] == Place.AT_WAREHOUSE
    assert result["warehouse"]["status"] == "new"
    assert result["cancel"] == {"accepted": True, "message": "Order cancelled"}
    assert result["record"]["outcome"] == Outcome.CANCELLED_AT_WAREHOUSE
    (order,) = h.scend.orders()
    assert order["OrderStatusId"] == CANCELLED_AT_SCEND
    entry = h.rt.ledger.get(f"cin7_core#{sale_id}")
    assert entry.stage == "cancelled" and entry.cancel_outcome == Outcome.CANCELLED_AT_WAREHOUSE
    assert "cancelled at the warehouse" in h.cin7.sale(sale_id)["Note"]
    # And the warehouse never ships it, however long we wait
    h.clock.advance(48 * 3600)
    assert h.scend.despatches() == []


def test_cancel_after_pick_is_refused_and_routed_to_operations_with_status_and_request_time(h: Harness) -> None:
    # Given an order the warehouse picked (45 minutes after creation)
    sale_id = hand_off(h, "SO-2")
    h.clock.advance(50 * 60)
    requested = h.clock.now()
    # When the sale is voided
    void(h, sale_id)
    # Then the execution ends as too late, the warehouse order is untouched, operations own an exception
    result = output(only_execution(h))
    assert result["record"]["outcome"] == Outcome.REFUSED_TOO_LATE
    assert "cancel" not in result or result.get("cancel") is None
    assert h.scend.cancel_requests == 0
    (exception,) = [e for e in h.rt.exceptions.list() if e.flow == "cancellation"]
    assert exception.reason == "cancel_too_late" and exception.team == "operations"
    assert "warehouse status 17 Picked (picked)" in exception.detail and "raise it with the 3PL" in exception.detail
    assert requested.isoformat().replace("+00:00", "") in exception.detail.replace("+00:00", "")
    entry = h.rt.ledger.get(f"cin7_core#{sale_id}")
    assert entry.stage == "submitted" and entry.cancel_outcome == Outcome.REFUSED_TOO_LATE
    assert "NOT cancelled" in h.cin7.sale(sale_id)["Note"]


def test_cancel_before_intake_stops_the_order_before_it_goes(h: Harness) -> None:
    # Given a sale voided before its authorised webhook was processed
    sale_id = h.add_sale("SO-3")
    void(h, sale_id)
    # When the authorised webhook arrives afterwards
    h.webhook(sale_id)
    h.local.drain()
    # Then nothing reached the warehouse and the cancel is recorded as before submit
    assert h.scend.orders() == []
    assert output(only_execution(h))["record"]["outcome"] == Outcome.CANCELLED_BEFORE_SUBMIT
    assert h.rt.ledger.get(f"cin7_core#{sale_id}").stage == "cancelled"


def test_released_but_not_submitted_order_is_dropped_by_submit(h: Harness) -> None:
    # Given an order released to the submit queue but not yet submitted
    sale_id = h.add_sale("SO-4")
    h.webhook(sale_id)
    h.local.drain_queue("order-intake")
    # When the cancel runs first, then the submit queue is consumed
    h.cin7.void_sale(sale_id)
    h.webhook(sale_id, body=json.dumps(h.cin7.webhook_payload(sale_id, "Sale/Voided")))
    h.local.drain_queue("cancel-requests")
    h.local.wait_for_executions()
    h.local.drain()
    # Then the submit refused to create it
    assert h.scend.create_attempts == 0
    assert output(only_execution(h))["record"]["outcome"] == Outcome.CANCELLED_BEFORE_SUBMIT


def test_the_same_cancel_twice_starts_one_execution(h: Harness) -> None:
    # Given a voided sale whose webhook arrives twice, and which the poll lists as well
    sale_id = hand_off(h, "SO-5")
    void(h, sale_id)
    h.webhook(sale_id, body=json.dumps(h.cin7.webhook_payload(sale_id, "Sale/Voided")))
    h.clock.advance(3600)
    h.local.run_schedule("poll_sales")
    h.local.drain()
    # Then there is still exactly one execution, and the warehouse was asked once
    assert len(h.local.executions()) == 1
    assert h.scend.cancel_requests == 1
    assert h.local.invocations["start_cancellation"] >= 2


def test_a_void_whose_webhook_was_missed_is_found_by_the_poll(h: Harness) -> None:
    sale_id = hand_off(h, "SO-6")
    h.cin7.void_sale(sale_id)
    h.clock.advance(3600)
    h.local.run_schedule("poll_sales")
    h.local.drain()
    execution = only_execution(h)
    assert json.loads(execution["input"])["request"]["trigger"] == "poll"
    # An hour later the order was picked: refused, correctly
    assert output(execution)["record"]["outcome"] == Outcome.REFUSED_TOO_LATE


def test_one_poll_lists_sales_once_for_intake_and_cancellation(h: Harness) -> None:
    # Given a sale handed off and then voided, both webhooks missed
    sale_id = hand_off(h, "SO-6B")
    h.cin7.void_sale(sale_id)
    h.clock.advance(3600)
    listed = sum(n for key, n in h.cin7.requests.items() if key.endswith("/salelist"))
    # When the safety-net poll runs once
    h.local.run_schedule("poll_sales")
    h.local.drain()
    # Then Cin7 was listed once (no status filter), and the void still reached cancellation
    assert sum(n for key, n in h.cin7.requests.items() if key.endswith("/salelist")) == listed + 1
    assert json.loads(only_execution(h)["input"])["request"]["trigger"] == "poll"


def test_a_transient_warehouse_error_is_retried_by_the_state_machine(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a warehouse whose first cancel call fails with a 5xx-like error
    real = ScendClient.cancel_order
    calls: list[str] = []

    def flaky(self: ScendClient, warehouse_order_id: str) -> tuple[bool, str]:
        calls.append(warehouse_order_id)
        if len(calls) == 1:
            raise TransientError("scend 502")
        return real(self, warehouse_order_id)

    monkeypatch.setattr(ScendClient, "cancel_order", flaky)
    sale_id = hand_off(h, "SO-7")
    before = h.clock.now()
    void(h, sale_id)
    # Then the task was retried after its backoff (virtual time) and the cancel went through
    assert len(calls) == 2
    assert h.local.task_errors["cancel_at_warehouse:TransientError"] == 1
    assert output(only_execution(h))["record"]["outcome"] == Outcome.CANCELLED_AT_WAREHOUSE
    assert h.clock.now() - before >= timedelta(seconds=5)


def test_a_failing_step_fails_the_execution_visibly_and_records_what_was_done(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a ledger that refuses to record the outcome (after the warehouse cancel succeeded)
    from shared.errors import PermanentError
    from shared.models import ReasonCode
    from shared.stores.ledger import LedgerStore

    def refuse(self: LedgerStore, *args: Any, **kwargs: Any) -> None:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "ledger item is locked")

    monkeypatch.setattr(LedgerStore, "record_cancel_outcome", refuse)
    sale_id = hand_off(h, "SO-8")
    void(h, sale_id)
    # Then the execution failed (redrivable), the warehouse cancel stands, and operations own an exception
    execution = only_execution(h)
    assert execution["status"] == "FAILED" and execution["error"] == "CancellationFailed"
    assert h.scend.orders()[0]["OrderStatusId"] == CANCELLED_AT_SCEND
    (exception,) = [e for e in h.rt.exceptions.list() if e.flow == "cancellation"]
    assert exception.reason == "cancel_failed" and exception.team == "operations"
    assert "PermanentError" in exception.detail and "the warehouse accepted the cancel" in exception.detail
    assert "steps done: lookup, warehouse, cancel" in exception.detail


def test_a_note_the_source_refuses_does_not_fail_the_cancellation_nor_hide_its_outcome(h: Harness) -> None:
    # Given a Cin7 that refuses edits to voided sales, and an order the warehouse has picked
    h.cin7.edit_voided_sales = False
    sale_id = hand_off(h, "SO-NOTE")
    h.clock.advance(50 * 60)
    # When the sale is voided
    void(h, sale_id)
    # Then the execution succeeded: the outcome was recorded before the note, which is a courtesy
    execution = only_execution(h)
    assert execution["status"] == "SUCCEEDED"
    assert output(execution)["record"]["outcome"] == Outcome.REFUSED_TOO_LATE
    # And both exceptions are in the inbox: the refusal operations must act on, and the failed note
    reasons = {e.reason.value: e for e in h.rt.exceptions.list() if e.flow == "cancellation"}
    assert set(reasons) == {"cancel_too_late", "cancel_note_failed"}
    assert "raise it with the 3PL" in reasons["cancel_too_late"].detail
    assert "is recorded, but its note" in reasons["cancel_note_failed"].detail
    assert "VOIDED and cannot be changed" in reasons["cancel_note_failed"].detail
    assert h.cin7.sale(sale_id)["Note"] == ""


# Scend status -> what the card's table does there (3.4): cancel / raise with the 3PL / refuse and return,
# and statuses the card gives no rule (a person checks).
@pytest.mark.parametrize(
    ("status_id", "outcome", "reason", "asked"),
    [
        (21, Outcome.CANCELLED_AT_WAREHOUSE, None, True),
        (2, Outcome.REFUSED_TOO_LATE, "has no cancel rule", False),
        (19, Outcome.REFUSED_TOO_LATE, "has no cancel rule", False),
        (16, Outcome.REFUSED_TOO_LATE, "raise it with the 3PL", False),
        (4, Outcome.REFUSED_RETURN_STARTED, "a return is started", False),
    ],
)  # every status id is decided in tests/unit/test_cancellation_flow.py; here the real machine, a few of each
def test_the_cancel_endpoint_is_called_only_where_the_cards_table_allows_it(
    h: Harness, status_id: int, outcome: Outcome, reason: str | None, asked: bool
) -> None:
    # Given an order the warehouse holds at `status_id`
    sale_id = hand_off(h, f"SO-S{status_id}")
    entry = h.rt.ledger.get(f"cin7_core#{sale_id}")
    h.scend.set_status(int(entry.warehouse_order_id), status_id)
    # When the sale is voided
    void(h, sale_id)
    # Then Scend was asked to cancel only where the table says it cancels, and the outcome says why
    result = output(only_execution(h))
    assert result["warehouse"]["code"] == str(status_id)
    assert result["record"]["outcome"] == outcome
    assert h.scend.cancel_requests == (1 if asked else 0)
    assert h.scend.cancel_refusals == 0
    if reason is not None:
        (exception,) = [e for e in h.rt.exceptions.list() if e.flow == "cancellation"]
        assert reason in exception.detail and exception.team == "operations"
        assert exception.reason == ("cancel_return_started" if status_id == 4 else "cancel_too_late")


def test_a_malformed_cancel_request_is_quarantined_not_retried(h: Harness) -> None:
    response = h.invoke("start_cancellation", h.sqs_event({"client": "x"}))
    assert response == {"batchItemFailures": []}
    (exception,) = h.rt.exceptions.list()
    assert exception.reason == "payload_invalid" and exception.flow == "cancellation"


# -- the cancel / submit race ----------------------------------------------------------------------------


class Gate:
    """Stops the submit at one point until the test lets it go: reached -> (test acts) -> go."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.go = threading.Event()

    def wait_here(self) -> None:
        self.reached.set()
        assert self.go.wait(10), "the test never released the submit"


class GatedWarehouse:
    """The real Scend client, with gates before and after the create and an optional failure."""

    def __init__(self, real: Any, gates: dict[str, Gate], fail_before_create: bool = False):
        self.real, self.gates, self.fail_before_create = real, gates, fail_before_create

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def create_order(self, *args: Any) -> Any:
        if "before_create" in self.gates:
            self.gates["before_create"].wait_here()
        if self.fail_before_create:
            raise TransientError("connection reset before the request was sent")
        result = self.real.create_order(*args)
        if "after_create" in self.gates:
            self.gates["after_create"].wait_here()
        return result


def released(h: Harness, number: str) -> tuple[str, SubmitMessage]:
    sale_id = h.add_sale(number)
    h.webhook(sale_id)
    h.local.drain_queue("order-intake")
    (body,) = h.queue_bodies("order-submit")
    return sale_id, SubmitMessage.model_validate(body)


def cancel_state(h: Harness, sale_id: str, number: str) -> CancelState:
    h.cin7.void_sale(sale_id)
    return CancelState(
        request=CancelRequest(
            client=h.rt.config.client,
            source="cin7_core",
            source_id=sale_id,
            order_number=number,
            requested_at=h.clock.now(),
            trigger="webhook",
        )
    )


def settle(h: Harness, state: CancelState, *, on_wait: Callable[[], None]) -> str:
    """The state machine's path, step by step: look up (retrying while a submit is in flight), then the
    route and the warehouse's cancel choice exactly as the topology renders them, cancel, record."""
    from shared import topology

    machine = topology.state_machine("cancellation")
    for _ in range(10):
        try:
            lookup = cancellation.look_up(state, h.rt)
            break
        except SubmitInFlightError:
            on_wait()
    else:
        raise AssertionError("the lookup never settled")
    state = state.model_copy(update={"lookup": lookup})
    where = machine.state("WhereIsTheOrder")
    assert isinstance(where, topology.ChoiceState)
    if where.routes(h.rt.config)[lookup.route] == "ReadWarehouseStatus":
        state = state.model_copy(update={"warehouse": cancellation.read_status(state, h.rt)})
        allows = machine.state("WarehouseAllowsCancel")
        assert isinstance(allows, topology.ChoiceState)
        if allows.routes(h.rt.config)[state.warehouse.code] == "CancelAtWarehouse":  # type: ignore[union-attr]
            state = state.model_copy(update={"cancel": cancellation.cancel_at_warehouse(state, h.rt)})
    return cancellation.record(state, h.rt).outcome


def assert_nothing_live(h: Harness, reference: str, outcome: str) -> None:
    assert Outcome(outcome) in ACCEPTED
    live = [o for o in h.scend.orders() if o["OrderNumber"] == reference and o["OrderStatusId"] != CANCELLED_AT_SCEND]
    assert live == [], f"{reference}: a cancel we accepted ({outcome}) left a live warehouse order"


POINTS = ("before_begin", "before_create", "after_create", "after_record")


def race_once(h: Harness, point: str, number: str) -> Outcome:
    sale_id, message = released(h, number)
    state = cancel_state(h, sale_id, number)
    gates = {point: Gate()} if point in ("before_create", "after_create") else {}
    h.rt.override(Role.ORDER_TARGET, GatedWarehouse(h.rt.role(Role.ORDER_TARGET), gates))
    try:
        if point == "before_begin":
            outcome = settle(h, state, on_wait=lambda: pytest.fail("nothing was in flight"))
            assert submit_order(message, h.rt)["outcome"] == "cancelled_before_submit"
            assert outcome == Outcome.CANCELLED_BEFORE_SUBMIT
        elif point == "after_record":
            submit_order(message, h.rt)
            outcome = settle(h, state, on_wait=lambda: pytest.fail("nothing was in flight"))
            assert outcome == Outcome.CANCELLED_AT_WAREHOUSE
        else:
            # Given a submit stopped at `point`, in its own thread
            submit = threading.Thread(target=submit_order, args=(message, h.rt))
            submit.start()
            assert gates[point].reached.wait(10)
            waits: list[int] = []

            def let_the_submit_finish() -> None:
                waits.append(1)
                gates[point].go.set()
                submit.join(10)

            # When the cancel arrives now: it must wait for the submit's outcome, then cancel at the warehouse
            outcome = settle(h, state, on_wait=let_the_submit_finish)
            assert waits == [1]
            assert outcome == Outcome.CANCELLED_AT_WAREHOUSE
    finally:
        h.rt.override(Role.ORDER_TARGET, h.rt.role(Role.ORDER_TARGET).real)
    assert_nothing_live(h, message.client_reference, outcome)
    return outcome


@pytest.mark.parametrize("point", POINTS)
def test_cancel_at_every_point_of_the_submit_never_leaves_a_live_warehouse_order(h: Harness, point: str) -> None:
    for round_ in range(4):
        outcome = race_once(h, point, f"SO-{point}-{round_}")
        assert outcome in (Outcome.CANCELLED_BEFORE_SUBMIT, Outcome.CANCELLED_AT_WAREHOUSE)


def test_a_submit_whose_answer_was_lost_is_found_at_the_warehouse_after_the_lease(h: Harness) -> None:
    # Given a create that reached the warehouse but whose answer was lost (nothing recorded)
    sale_id, message = released(h, "SO-LOST")
    h.scend.lose_next_create_responses(1)
    with pytest.raises(TransientError):
        submit_order(message, h.rt)
    state = cancel_state(h, sale_id, "SO-LOST")
    # When the cancel looks: first it waits, and once the lease is over it asks the warehouse
    outcome = settle(h, state, on_wait=lambda: h.clock.advance(cancellation.submit_lease_seconds()))
    assert outcome == Outcome.CANCELLED_AT_WAREHOUSE
    assert_nothing_live(h, message.client_reference, outcome)
    # And the redelivered submit is refused: the order is never created again
    assert submit_order(message, h.rt)["outcome"] == "cancelled_before_submit"
    assert len(h.scend.orders()) == 1


def test_a_submit_that_failed_before_the_warehouse_ends_as_cancelled_before_submit(h: Harness) -> None:
    sale_id, message = released(h, "SO-FAIL")
    h.rt.override(Role.ORDER_TARGET, GatedWarehouse(h.rt.role(Role.ORDER_TARGET), {}, fail_before_create=True))
    with pytest.raises(TransientError):
        submit_order(message, h.rt)
    h.rt.override(Role.ORDER_TARGET, h.rt.role(Role.ORDER_TARGET).real)
    state = cancel_state(h, sale_id, "SO-FAIL")
    outcome = settle(h, state, on_wait=lambda: h.clock.advance(cancellation.submit_lease_seconds()))
    assert outcome == Outcome.CANCELLED_BEFORE_SUBMIT
    assert submit_order(message, h.rt)["outcome"] == "cancelled_before_submit"
    assert h.scend.orders() == []


def test_cancel_and_submit_started_together_many_times_never_leave_a_live_order(h: Harness) -> None:
    # Given a submit and a cancel released at the same instant by a barrier, 20 times over,
    # so the scheduler picks the interleaving
    outcomes: list[str] = []
    for round_ in range(20):
        number = f"SO-RACE-{round_}"
        sale_id, message = released(h, number)
        state = cancel_state(h, sale_id, number)
        barrier = threading.Barrier(2)
        done = threading.Event()

        def run_submit(
            message: SubmitMessage = message, barrier: threading.Barrier = barrier, done: threading.Event = done
        ) -> None:
            barrier.wait()
            try:
                submit_order(message, h.rt)
            finally:
                done.set()

        submit = threading.Thread(target=run_submit)
        submit.start()
        barrier.wait()
        outcome = settle(h, state, on_wait=lambda done=done: (done.wait(10), None)[1])
        submit.join(10)
        outcomes.append(outcome)
        # Then whatever the order of events, an accepted cancel left nothing live at the warehouse
        assert_nothing_live(h, message.client_reference, outcome)
    assert set(outcomes) <= {Outcome.CANCELLED_BEFORE_SUBMIT, Outcome.CANCELLED_AT_WAREHOUSE}


def test_the_state_machine_waits_out_a_submit_in_flight(h: Harness) -> None:
    # Given a sale voided while its create is on its way to the warehouse (hook on the simulator)
    sale_id = h.add_sale("SO-HOOK")
    h.webhook(sale_id)
    seen: list[str] = []

    def during_create(reference: str) -> None:
        if seen:
            return
        seen.append(reference)
        waits = h.local.retry_waits
        h.cin7.void_sale(sale_id)
        h.webhook(sale_id, body=json.dumps(h.cin7.webhook_payload(sale_id, "Sale/Voided")))
        h.local.drain_queue("cancel-requests")
        h.local.wait_until_execution_waits_or_ends(waits)

    h.scend.before_create = during_create
    h.local.drain()
    h.scend.before_create = None
    # Then the execution retried its lookup until the submit recorded, and cancelled at the warehouse
    assert seen == ["EXA-SO-HOOK"]
    assert h.local.task_errors["lookup_cancellation:SubmitInFlightError"] >= 1
    assert output(only_execution(h))["record"]["outcome"] == Outcome.CANCELLED_AT_WAREHOUSE
    assert h.scend.orders()[0]["OrderStatusId"] == CANCELLED_AT_SCEND


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness
