"""Cancellation, one step per state-machine task: start, look up, read status, cancel, record, notify.

Each step takes the execution's document (CancelState) and returns its own part; the decisions are
the pure functions of shared.flows.cancellation. Every step is safe to run twice (Step Functions
retries a task, and a redriven execution re-runs the failed one).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from shared.connectors import warehouses
from shared.errors import SubmitInFlightError
from shared.flows.cancellation import (
    ACCEPTED,
    EXCEPTION_REASON,
    Outcome,
    Place,
    decide,
    effective_status,
    execution_name,
    locate,
    outcome_of,
)
from shared.models import ReasonCode, owner_of
from shared.models.messages import (
    CancelLookup,
    CancelRecord,
    CancelRequest,
    CancelState,
    WarehouseCancel,
    WarehouseCheck,
)
from shared.runtime import Runtime

if TYPE_CHECKING:
    from shared.config import ClientConfig

logger = Logger(child=True)

FLOW = "cancellation"
MACHINE = "cancellation"


def submit_lease_seconds(config: ClientConfig | None = None) -> float:
    """How long a submit's claim lasts (the client's setting; the default without a config)."""
    if config is None:
        from shared.config import RetryConfig

        return float(RetryConfig().submit_lease_seconds)
    return float(config.retries.submit_lease_seconds)


def start(request: CancelRequest, rt: Runtime) -> str:
    """Start the execution named after (client, order); a second start for the same order is a success."""
    name = execution_name(request.client, request.order_key)
    try:
        rt.stepfunctions.start_execution(
            stateMachineArn=rt.state_machine_arn(MACHINE),
            name=name,
            input=CancelState(request=request).model_dump_json(),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionAlreadyExists":
            logger.info("cancellation already started", extra={"order_key": request.order_key, "execution": name})
            return "duplicate"
        raise
    logger.info("cancellation started", extra={"order_key": request.order_key, "execution": name})
    return "started"


def look_up(state: CancelState, rt: Runtime) -> CancelLookup:
    """Write the cancel on the ledger entry (from then on no submit can begin), then say where the order is.

    Raises SubmitInFlightError while an attempt that began before the cancel may still record its outcome;
    the state machine retries this task with backoff until it can tell.
    """
    request = state.request
    now = rt.clock.now()
    entry = rt.ledger.request_cancel(
        request.order_key, requested_at=request.requested_at, order_number=request.order_number, now=now
    )
    started = datetime.fromisoformat(entry.submit_started_at) if entry.submit_started_at else None
    lease_until = datetime.fromisoformat(entry.submit_lease_until) if entry.submit_lease_until else None
    place = locate(
        cancelled=entry.stage == "cancelled",
        warehouse_order_id=entry.warehouse_order_id,
        submit_started_at=started,
        now=now,
        submit_lease_seconds=submit_lease_seconds(rt.config),
        submit_lease_until=lease_until,
    )
    reference = entry.client_reference or entry.submit_reference
    warehouse_order_id = entry.warehouse_order_id
    if place == Place.SUBMIT_IN_FLIGHT:
        raise SubmitInFlightError(
            f"{request.order_key}: a submit began at {entry.submit_started_at} and has not recorded its outcome yet"
        )
    if place == Place.SUBMIT_UNCERTAIN:
        # The attempt ended without recording: it may have created the order and lost the answer.
        found = rt.cancel_target.find_order(reference) if reference else None
        place = Place.AT_WAREHOUSE if found is not None else Place.NOT_SUBMITTED
        warehouse_order_id = found.warehouse_order_id if found is not None else None
        logger.info(
            "unrecorded submit settled at the warehouse",
            extra={"order_key": request.order_key, "found": found is not None},
        )
    return CancelLookup(
        route=place.value,
        known=entry.deliveries > 0,
        stage=entry.stage.value,
        warehouse_order_id=warehouse_order_id,
        client_reference=reference,
    )


def _lookup(state: CancelState) -> CancelLookup:
    if state.lookup is None:
        raise ValueError("the execution document has no lookup result")
    return state.lookup


def read_status(state: CancelState, rt: Runtime) -> WarehouseCheck:
    """The live warehouse status (its own code and the neutral status), corrected by parcels the ledger
    already recorded."""
    lookup = _lookup(state)
    if not lookup.warehouse_order_id:
        raise ValueError("read_status needs the warehouse order id")
    live = rt.cancel_target.order_status(lookup.warehouse_order_id)
    entry = rt.ledger.get(state.request.order_key)
    decided = effective_status(live, entry.stage.value if entry else "", warehouses.despatched(rt.config))
    return WarehouseCheck(
        status=decided.status,
        code=decided.code,
        name=decided.name,
        live_code=live.code if decided.code != live.code else "",
        read_at=rt.clock.now(),
    )


def cancel_at_warehouse(state: CancelState, rt: Runtime) -> WarehouseCancel:
    """Ask the warehouse to cancel; a refusal is an answer (recorded and routed to a person), not an error."""
    lookup = _lookup(state)
    if not lookup.warehouse_order_id:
        raise ValueError("cancel_at_warehouse needs the warehouse order id")
    accepted, message = rt.cancel_target.cancel_order(lookup.warehouse_order_id)
    logger.info(
        "warehouse answered the cancel",
        extra={"order_key": state.request.order_key, "accepted": accepted, "warehouse_message": message},
    )
    return WarehouseCancel(accepted=accepted, message=message)


def record(state: CancelState, rt: Runtime) -> CancelRecord:
    """Record the outcome in the ledger; a refusal opens an exception for operations with the warehouse
    status and the time of the request."""
    request, lookup = state.request, _lookup(state)
    rules = warehouses.cancel_rules(rt.config)
    status = state.warehouse.read() if state.warehouse else None
    outcome = outcome_of(
        route=lookup.route,
        status=status,
        rules=rules,
        warehouse_accepted=state.cancel.accepted if state.cancel else None,
    )
    if outcome == Outcome.REFUSED_BY_WAREHOUSE and state.cancel is not None:
        reason = f"the warehouse refused the cancel: {state.cancel.message or 'no reason given'}"
    elif lookup.route == Place.AT_WAREHOUSE:
        reason = decide(Place.AT_WAREHOUSE, status, rules).reason
    else:
        reason = decide(Place(lookup.route), status, rules).reason
    now = rt.clock.now()
    exception_id = None
    code = EXCEPTION_REASON.get(outcome)
    if code is not None:
        detail = (
            f"cancel requested at {request.requested_at.isoformat()} ({request.trigger}"
            f"{': ' + request.reason if request.reason else ''}); warehouse order "
            f"{lookup.warehouse_order_id} ({lookup.client_reference}); {reason}"
        )
        exception_id = rt.exceptions.quarantine(
            flow=FLOW, business_key=request.order_key, reasons=[code], team=owner_of(code), detail=detail, now=now
        )
    rt.ledger.record_cancel_outcome(
        request.order_key,
        outcome=outcome.value,
        detail=reason,
        cancelled=outcome in ACCEPTED,
        now=now,
        warehouse_order_id=lookup.warehouse_order_id,
    )
    rt.archive.put(
        order_key=request.order_key,
        kind="cancellation",
        now=now,
        body={**state.model_dump(mode="json"), "outcome": outcome.value, "reason": reason},
    )
    logger.info(
        "cancellation decided",
        extra={
            "order_key": request.order_key,
            "outcome": outcome.value,
            "reason": reason,
            "exception_id": exception_id,
        },
    )
    return CancelRecord(outcome=outcome.value, reason=reason, exception_id=exception_id, decided_at=now)


def notify(state: CancelState, rt: Runtime) -> dict[str, Any]:
    """Tell the source what became of its cancel (Cin7 Core: a line on the sale's note), once."""
    request = state.request
    if state.record is None:
        raise ValueError("notify needs the recorded outcome")
    if not rt.config.cancellation.notify_source:
        return {"notified": False, "why": "notify_source is off"}
    if not _lookup(state).known:
        return {"notified": False, "why": "the order never reached us"}
    if request.source != rt.note_target.name:
        return {"notified": False, "why": f"no write-back to {request.source}"}
    line = note_line(state.record)
    written = rt.note_target.add_note(request.source_id, line)
    return {"notified": True, "written": written}


def note_line(recorded: CancelRecord) -> str:
    """The sale note: the same text on every retry, so a repeat recognises it and writes nothing."""
    verdict = {
        Outcome.CANCELLED_BEFORE_SUBMIT: "cancelled before it was sent to the warehouse",
        Outcome.CANCELLED_AT_WAREHOUSE: "cancelled at the warehouse",
        Outcome.ALREADY_CANCELLED: "already cancelled",
        Outcome.REFUSED_TOO_LATE: "NOT cancelled: too late, operations will contact the warehouse",
        Outcome.REFUSED_RETURN_STARTED: "NOT cancelled: already despatched, a return has been started",
        Outcome.REFUSED_BY_WAREHOUSE: "NOT cancelled: the warehouse refused, operations will follow up",
    }[Outcome(recorded.outcome)]
    return f"{recorded.decided_at.isoformat(timespec='seconds')} cancellation: {verdict} ({recorded.reason})"


def record_failure(state: CancelState, rt: Runtime) -> dict[str, Any]:
    """The saga's catch-alls. Before the outcome is recorded: record what failed and which steps had
    already succeeded, for a person to settle and then redrive the execution (a warehouse cancel cannot be
    undone, so it is recorded, not compensated). After it (the note to the source failed): the outcome
    stands, so only the note is owed; that is its own exception, next to any the outcome opened."""
    request = state.request
    error = state.error or {}
    now = rt.clock.now()
    failed = f"{error.get('Error', 'unknown error')}: {str(error.get('Cause', ''))[:600]}"
    if state.record is not None:
        detail = (
            f"the cancellation's outcome ({state.record.outcome}) is recorded, but its note on the "
            f"{request.source} order failed: {failed}; the note would read: {note_line(state.record)}"
        )
        exception_id = rt.exceptions.quarantine(
            flow=FLOW,
            business_key=request.order_key,
            reasons=[ReasonCode.CANCEL_NOTE_FAILED],
            team=owner_of(ReasonCode.CANCEL_NOTE_FAILED),
            detail=detail,
            now=now,
        )
        logger.warning(
            "cancellation note failed",
            extra={"order_key": request.order_key, "exception_id": exception_id, "error": error.get("Error")},
        )
        return {"exception_id": exception_id, "note_failed": True}
    done = [name for name in ("lookup", "warehouse", "cancel", "record", "notify") if getattr(state, name)]
    cancel = f"; the warehouse {'accepted' if state.cancel.accepted else 'refused'} the cancel" if state.cancel else ""
    detail = (
        f"cancellation stopped: {failed}; "
        f"steps done: {', '.join(done) or 'none'}{cancel}; requested at {request.requested_at.isoformat()}; "
        "fix the cause, then redrive the execution"
    )
    exception_id = rt.exceptions.quarantine(
        flow=FLOW,
        business_key=request.order_key,
        reasons=[ReasonCode.CANCEL_FAILED],
        team=owner_of(ReasonCode.CANCEL_FAILED),
        detail=detail,
        now=now,
    )
    logger.error(
        "cancellation failed",
        extra={"order_key": request.order_key, "exception_id": exception_id, "error": error.get("Error")},
    )
    return {"exception_id": exception_id}
