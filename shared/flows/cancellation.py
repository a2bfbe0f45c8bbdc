"""Cancellation decisions: where the order is, and whether the warehouse may still be asked to cancel it.

Pure: the ledger's view, the warehouse's live (neutral) status and the client's cut-off come in as
arguments; a decision with its reason text comes out. The state machine's Choice states are rendered
from these same functions at synth time, so the deployed routing and the tested table cannot drift.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from enum import StrEnum

from shared.models import Model, ReasonCode

# The warehouse's happy path, in order. A cut-off names one of these: from it on, a person decides.
PROGRESSION: tuple[str, ...] = ("new", "awaiting_picking", "picking", "picked", "packed", "despatched")
# Stopped before picking: nothing has left a shelf, so these count as before any cut-off.
PAUSED: frozenset[str] = frozenset({"on_hold", "backorder"})
CANCELLED = "cancelled"
UNKNOWN = "unknown"
# Every neutral status a FulfilmentTarget reports (the Scend mapping's WarehouseStatus values).
NEUTRAL_STATUSES: tuple[str, ...] = (*PROGRESSION, CANCELLED, "on_hold", "backorder", UNKNOWN)
DEFAULT_CUTOFF = "picked"


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
    TOO_LATE = "too_late"
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
    REFUSED_BY_WAREHOUSE = "refused_by_warehouse"


ACCEPTED: frozenset[Outcome] = frozenset(
    {Outcome.CANCELLED_BEFORE_SUBMIT, Outcome.CANCELLED_AT_WAREHOUSE, Outcome.ALREADY_CANCELLED}
)
EXCEPTION_REASON: dict[Outcome, ReasonCode] = {
    Outcome.REFUSED_TOO_LATE: ReasonCode.CANCEL_TOO_LATE,
    Outcome.REFUSED_BY_WAREHOUSE: ReasonCode.CANCEL_REJECTED,
}


def validate_cutoff(cutoff: str) -> str:
    if cutoff not in PROGRESSION:
        raise ValueError(f"cut-off must be one of {', '.join(PROGRESSION)}; got {cutoff!r}")
    return cutoff


def locate(
    *, cancelled: bool, warehouse_order_id: str | None, submit_started_at: datetime | None, now: datetime,
    submit_lease_seconds: float,
) -> Place:
    """The ledger's answer, read after the cancel request was written (no new submit can start after it).

    A started attempt that recorded nothing within the lease (longer than the submit hop may run) is
    over: it failed before or after reaching the warehouse, which only the warehouse can say.
    """
    if warehouse_order_id:
        return Place.AT_WAREHOUSE
    if cancelled:
        return Place.CANCELLED
    if submit_started_at is None:
        return Place.NOT_SUBMITTED
    if now - submit_started_at < timedelta(seconds=submit_lease_seconds):
        return Place.SUBMIT_IN_FLIGHT
    return Place.SUBMIT_UNCERTAIN


def effective_status(live: str, ledger_stage: str) -> str:
    """The warehouse status to decide on: a parcel we already recorded outranks a status that hides it
    (a part-despatched order can show a pre-despatch status such as Processing)."""
    if ledger_stage in ("part_shipped", "shipped"):
        return "despatched"
    return live


def decide(place: Place, status: str | None, cutoff: str) -> CancelDecision:
    """The decision table: (where the order is, the warehouse's neutral status, the client's cut-off)."""
    validate_cutoff(cutoff)
    if place == Place.CANCELLED:
        return CancelDecision(decision=Decision.ALREADY_CANCELLED, reason="already cancelled")
    if place == Place.NOT_SUBMITTED:
        return CancelDecision(decision=Decision.CANCEL_BEFORE_SUBMIT,
                              reason="not yet at the warehouse: it is stopped before it goes")
    if place in (Place.SUBMIT_IN_FLIGHT, Place.SUBMIT_UNCERTAIN):
        return CancelDecision(decision=Decision.WAIT_FOR_SUBMIT,
                              reason="a submit to the warehouse is in flight: wait for its outcome")
    if status is None:
        raise ValueError("an order at the warehouse needs its live status to decide")
    if status == CANCELLED:
        return CancelDecision(decision=Decision.ALREADY_CANCELLED, reason="the warehouse already shows it cancelled")
    if status in PAUSED:
        return CancelDecision(decision=Decision.CANCEL_AT_WAREHOUSE,
                              reason=f"warehouse status {status}: nothing picked yet")
    if status not in PROGRESSION:
        return CancelDecision(decision=Decision.TOO_LATE,
                              reason=f"warehouse status {status!r} is not one we can judge: a person must check")
    if PROGRESSION.index(status) < PROGRESSION.index(cutoff):
        return CancelDecision(decision=Decision.CANCEL_AT_WAREHOUSE,
                              reason=f"warehouse status {status} is before the cut-off ({cutoff})")
    return CancelDecision(decision=Decision.TOO_LATE,
                          reason=f"warehouse status {status} is at or past the cut-off ({cutoff}): "
                                 "too late to cancel automatically")


def outcome_of(
    *, route: str, status: str | None, cutoff: str, warehouse_accepted: bool | None,
) -> Outcome:
    """The execution's outcome from what its states found: the lookup route, the live status and, when
    asked, the warehouse's answer to the cancel."""
    if route == Place.NOT_SUBMITTED:
        return Outcome.CANCELLED_BEFORE_SUBMIT
    if route == Place.CANCELLED:
        return Outcome.ALREADY_CANCELLED
    decision = decide(Place.AT_WAREHOUSE, status, cutoff).decision
    if decision == Decision.ALREADY_CANCELLED:
        return Outcome.ALREADY_CANCELLED
    if decision == Decision.TOO_LATE:
        return Outcome.REFUSED_TOO_LATE
    if warehouse_accepted is None:
        raise ValueError(f"status {status} is before the cut-off, but the warehouse was not asked to cancel")
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
    return f"{name[:EXECUTION_NAME_MAX - 17]}-{digest}"
