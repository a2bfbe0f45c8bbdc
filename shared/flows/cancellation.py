"""Cancellation decisions: where the order is, and what the warehouse's table says a cancel may do at its status.

Pure: the ledger's view, the warehouse's live status (its own code, with the neutral status it maps to)
and the warehouse's cancel table (the card's, with the client's overrides) come in as arguments; a
decision with its reason text comes out. The neutral vocabulary cannot carry the rule (Scend's 2
Printed and 15 Awaiting picking are both before picking; only one may be cancelled), so the table is
keyed by the warehouse's own status code. The state machine's Choice states are rendered from these
same functions at synth time, one rule per status code, so the deployed routing and the tested table
cannot drift, and the cancel endpoint is never called at a status the table knows it refuses.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from shared.models import CancelRule, FulfilmentStage, Model, ReasonCode, WarehouseStatusRead, stage_of_status


class Place(StrEnum):
    """Where the order is, as far as our ledger can tell."""

    NOT_SUBMITTED = "not_submitted"  # never handed to the warehouse, and now it never will be
    SUBMIT_IN_FLIGHT = "submit_in_flight"  # a create attempt started and its outcome is not recorded yet
    SUBMIT_UNCERTAIN = "submit_uncertain"  # an attempt started long ago and never recorded: ask the warehouse
    AT_WAREHOUSE = "at_warehouse"
    CANCELLED = "cancelled"


class Decision(StrEnum):
    CANCEL_BEFORE_SUBMIT = "cancel_before_submit"
    CANCEL_AT_WAREHOUSE = "cancel_at_warehouse"
    ALREADY_CANCELLED = "already_cancelled"
    TOO_LATE = "too_late"  # raise it with the warehouse (or a status with no rule: a person checks)
    REFUSE_AND_RETURN = "refuse_and_return"  # it has left: refused, and a return is started
    WAIT_FOR_SUBMIT = "wait_for_submit"


class CancelDecision(Model):
    decision: Decision
    reason: str


class Outcome(StrEnum):
    """What a cancellation ended as; the ledger and the sandbox summary count these."""

    CANCELLED_BEFORE_SUBMIT = "cancelled_before_submit"
    CANCELLED_AT_WAREHOUSE = "cancelled_at_warehouse"
    ALREADY_CANCELLED = "already_cancelled"
    REFUSED_TOO_LATE = "refused_too_late"
    REFUSED_RETURN_STARTED = "refused_return_started"
    REFUSED_BY_WAREHOUSE = "refused_by_warehouse"


ACCEPTED: frozenset[Outcome] = frozenset(
    {Outcome.CANCELLED_BEFORE_SUBMIT, Outcome.CANCELLED_AT_WAREHOUSE, Outcome.ALREADY_CANCELLED}
)
EXCEPTION_REASON: dict[Outcome, ReasonCode] = {
    Outcome.REFUSED_TOO_LATE: ReasonCode.CANCEL_TOO_LATE,
    Outcome.REFUSED_RETURN_STARTED: ReasonCode.CANCEL_RETURN_STARTED,
    Outcome.REFUSED_BY_WAREHOUSE: ReasonCode.CANCEL_REJECTED,
}


def locate(
    *,
    cancelled: bool,
    warehouse_order_id: str | None,
    submit_started_at: datetime | None,
    now: datetime,
    submit_lease_seconds: float,
    submit_lease_until: datetime | None = None,
) -> Place:
    """The ledger's answer, read after the cancel request was written (no new submit can start after it).

    A submit is in flight while its claim's lease runs (`submit_lease_until`; for an attempt recorded
    before leases were, one lease from its start). A claim that ended with nothing recorded is over: it
    failed before or after reaching the warehouse, which only the warehouse can say.
    """
    if warehouse_order_id:
        return Place.AT_WAREHOUSE
    if cancelled:
        return Place.CANCELLED
    if submit_started_at is None:
        return Place.NOT_SUBMITTED
    held_until = submit_lease_until or submit_started_at + timedelta(seconds=submit_lease_seconds)
    if now < held_until:
        return Place.SUBMIT_IN_FLIGHT
    return Place.SUBMIT_UNCERTAIN


def effective_status(
    live: WarehouseStatusRead, ledger_stage: str, despatched: WarehouseStatusRead
) -> WarehouseStatusRead:
    """The status to decide on: a parcel we already recorded outranks a status that hides it (a
    part-despatched order can show a status from before despatch), so it is taken as `despatched`."""
    if ledger_stage in ("part_shipped", "shipped"):
        return despatched
    return live


def _described(status: WarehouseStatusRead) -> str:
    named = f"{status.code} {status.name}".strip() if status.code else "unknown"
    return f"warehouse status {named} ({status.status})"


def decide(place: Place, status: WarehouseStatusRead | None, rules: Mapping[str, CancelRule]) -> CancelDecision:
    """The decision table: (where the order is, the warehouse's live status, the warehouse's cancel table)."""
    if place == Place.CANCELLED:
        return CancelDecision(decision=Decision.ALREADY_CANCELLED, reason="already cancelled")
    if place == Place.NOT_SUBMITTED:
        return CancelDecision(
            decision=Decision.CANCEL_BEFORE_SUBMIT, reason="not yet at the warehouse: it is stopped before it goes"
        )
    if place in (Place.SUBMIT_IN_FLIGHT, Place.SUBMIT_UNCERTAIN):
        return CancelDecision(
            decision=Decision.WAIT_FOR_SUBMIT, reason="a submit to the warehouse is in flight: wait for its outcome"
        )
    if status is None:
        raise ValueError("an order at the warehouse needs its live status to decide")
    described = _described(status)
    if stage_of_status(status.status) is FulfilmentStage.CANCELLED:
        return CancelDecision(decision=Decision.ALREADY_CANCELLED, reason=f"{described}: already cancelled")
    rule = rules.get(status.code)
    if rule == CancelRule.CANCEL:
        return CancelDecision(
            decision=Decision.CANCEL_AT_WAREHOUSE, reason=f"{described}: the warehouse cancels at this status"
        )
    if rule == CancelRule.RAISE_WITH_WAREHOUSE:
        return CancelDecision(
            decision=Decision.TOO_LATE,
            reason=f"{described}: too late to cancel through the API; raise it with the 3PL, "
            "who will process the goods as a return",
        )
    if rule == CancelRule.REFUSE_AND_RETURN:
        return CancelDecision(
            decision=Decision.REFUSE_AND_RETURN,
            reason=f"{described}: it has left the warehouse, the cancel is refused and a "
            "return is started (expect the goods back)",
        )
    return CancelDecision(
        decision=Decision.TOO_LATE,
        reason=f"{described} has no cancel rule: a person must check with the 3PL before anything is done",
    )


def outcome_of(
    *,
    route: str,
    status: WarehouseStatusRead | None,
    rules: Mapping[str, CancelRule],
    warehouse_accepted: bool | None,
) -> Outcome:
    """The execution's outcome from what its states found: the lookup route, the live status and, when
    asked, the warehouse's answer to the cancel."""
    if route == Place.NOT_SUBMITTED:
        return Outcome.CANCELLED_BEFORE_SUBMIT
    if route == Place.CANCELLED:
        return Outcome.ALREADY_CANCELLED
    decision = decide(Place.AT_WAREHOUSE, status, rules).decision
    if decision == Decision.ALREADY_CANCELLED:
        return Outcome.ALREADY_CANCELLED
    if decision == Decision.TOO_LATE:
        return Outcome.REFUSED_TOO_LATE
    if decision == Decision.REFUSE_AND_RETURN:
        return Outcome.REFUSED_RETURN_STARTED
    if warehouse_accepted is None:
        raise ValueError(f"status {status} allows a cancel, but the warehouse was not asked to cancel")
    return Outcome.CANCELLED_AT_WAREHOUSE if warehouse_accepted else Outcome.REFUSED_BY_WAREHOUSE


_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
EXECUTION_NAME_MAX = 80  # Step Functions: 1-80 characters, no whitespace, brackets, wildcards or punctuation


def execution_name(client: str, order_key: str) -> str:
    """One execution per (client, order): Step Functions refuses a second start with the same name.

    Unsafe characters become '-'; a name too long is cut and suffixed with a hash of the full key,
    so two orders never share a name.
    """
    name = _NAME_UNSAFE.sub("-", f"cancel-{client}-{order_key}").strip("-")
    if len(name) <= EXECUTION_NAME_MAX:
        return name
    digest = hashlib.sha256(f"{client}#{order_key}".encode()).hexdigest()[:16]
    return f"{name[: EXECUTION_NAME_MAX - 17]}-{digest}"
