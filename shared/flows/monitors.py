"""Order monitors as pure decisions over ledger snapshots: is an order stalled, do the systems disagree?

No I/O: the step reads the ledger (and, for a bounded few orders, the warehouse's live status) and
passes snapshots, the client's SLAs and `now` in. Every rule is a line an operator can read back
from the exception detail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.models.base import Model
from shared.models.fulfilment import FulfilmentStage, stage_of_status
from shared.models.order import WarehouseOrderRef
from shared.stores.ledger import LedgerEntry, Stage

if TYPE_CHECKING:
    from shared.config import MismatchConfig, StageSlaConfig

# Open at the warehouse: what the mismatch check reads. Every other stage is settled or owned elsewhere
# (held for a SKU has its own alert, quarantined is already an exception, shipped is closed).
AT_WAREHOUSE_OPEN: tuple[Stage, ...] = (Stage.SUBMITTED, Stage.PART_SHIPPED)


class MonitorStage(StrEnum):
    """Where an order waits, named as the SLA that covers it."""

    RECEIVED = "received"  # intake has not decided: received -> released
    RELEASED = "released"  # ready in the source, not at the warehouse: released -> at warehouse
    AT_WAREHOUSE = "at_warehouse"  # at the warehouse, nothing despatched: at warehouse -> shipped
    SHIPPED = "shipped"  # despatched, tracking not on the source order: shipped -> written back


class Breach(Model):
    """One SLA an order has overrun."""

    stage: MonitorStage
    since: datetime
    minutes_over: float
    detail: str


class MismatchKind(StrEnum):
    MISSING_AT_WAREHOUSE = "missing_at_warehouse"
    CANCELLED_AT_WAREHOUSE = "cancelled_at_warehouse"
    DESPATCHED_NOT_WRITTEN_BACK = "despatched_not_written_back"


class Mismatch(Model):
    kind: MismatchKind
    detail: str


def _at(entry: LedgerEntry, name: str) -> datetime | None:
    value = entry.timestamps.get(name)
    return datetime.fromisoformat(value) if value else None


def _breach(stage: MonitorStage, since: datetime, limit_minutes: int, now: datetime, what: str) -> Breach | None:
    waited = (now - since).total_seconds() / 60
    if waited <= limit_minutes:
        return None
    return Breach(
        stage=stage,
        since=since,
        minutes_over=round(waited - limit_minutes, 1),
        detail=f"{what} for {waited:.0f} min (SLA {limit_minutes} min, since {since.isoformat()})",
    )


def stalled(entry: LedgerEntry, sla: StageSlaConfig, now: datetime) -> list[Breach]:
    """Every SLA this order has overrun at `now`; empty when it is on time or settled for a known reason."""
    if entry.closed:
        return []
    breaches: list[Breach | None] = []
    if entry.stage == Stage.RECEIVED:
        since = _at(entry, "received")
        if since is not None:
            breaches.append(
                _breach(
                    MonitorStage.RECEIVED,
                    since,
                    sla.received_to_released,
                    now,
                    "received from the source, not yet released, held or quarantined",
                )
            )
    elif entry.stage == Stage.RELEASED:
        since = _at(entry, "released")
        if since is not None:
            breaches.append(
                _breach(
                    MonitorStage.RELEASED,
                    since,
                    sla.released_to_warehouse,
                    now,
                    "ready in the source but not at the warehouse",
                )
            )
    elif entry.stage in AT_WAREHOUSE_OPEN:
        submitted = _at(entry, "submitted")
        if submitted is not None and not entry.despatched and not entry.shipments:
            breaches.append(
                _breach(
                    MonitorStage.AT_WAREHOUSE,
                    submitted,
                    sla.warehouse_to_shipped,
                    now,
                    "at the warehouse with no parcel despatched",
                )
            )
        for parcel, despatched_at in sorted(entry.despatched.items()):
            if parcel not in entry.shipments:
                breaches.append(
                    _breach(
                        MonitorStage.SHIPPED,
                        datetime.fromisoformat(despatched_at),
                        sla.shipped_to_written_back,
                        now,
                        f"parcel {parcel} despatched, tracking not written back to the source",
                    )
                )
    return [b for b in breaches if b is not None]


def due_for_check(
    entries: list[LedgerEntry], config: MismatchConfig, now: datetime, *, limit: int | None = None
) -> list[LedgerEntry]:
    """The open warehouse orders whose live status to read this run: old enough, not read within the recheck
    interval, least recently read first; `limit` of them (the reads per run, `max_per_run`, by default)."""
    old_enough = now - timedelta(minutes=config.min_age_minutes)
    recheck = now - timedelta(minutes=config.recheck_minutes)
    candidates = []
    for entry in entries:
        submitted = _at(entry, "submitted")
        if entry.closed or entry.stage not in AT_WAREHOUSE_OPEN or not entry.warehouse_order_id:
            continue
        if submitted is None or submitted > old_enough:
            continue
        checked = datetime.fromisoformat(entry.checked_at) if entry.checked_at else None
        if checked is not None and checked > recheck:
            continue
        candidates.append((checked or submitted, entry.order_key, entry))
    candidates.sort(key=lambda item: (item[0], item[1]))
    return [entry for _, _, entry in candidates[: config.max_per_run if limit is None else limit]]


def listing_since(entries: list[LedgerEntry], overlap: timedelta) -> datetime | None:
    """Where a changed-since listing of the warehouse must start to show each of these orders: before the
    earliest submission (a warehouse order changes, at the least it is created, once it is submitted), less
    `overlap` for the two clocks. None when none has a submission time."""
    submitted = [at for entry in entries if (at := _at(entry, "submitted")) is not None]
    return min(submitted) - overlap if submitted else None


def mismatch(
    entry: LedgerEntry, observed: WarehouseOrderRef | None, config: MismatchConfig, now: datetime
) -> Mismatch | None:
    """Disagreement between the ledger (open at the warehouse) and the warehouse's live status.

    `observed` None means the warehouse does not know the order id the ledger holds.
    """
    if entry.closed:
        return None
    where = f"warehouse order {entry.warehouse_order_id}"
    if observed is None:
        return Mismatch(
            kind=MismatchKind.MISSING_AT_WAREHOUSE,
            detail=f"the ledger holds {where} as {entry.stage.value}; the warehouse does not know it",
        )
    stage = stage_of_status(observed.status)
    if stage is FulfilmentStage.CANCELLED:
        return Mismatch(
            kind=MismatchKind.CANCELLED_AT_WAREHOUSE,
            detail=f"{where} is cancelled at the warehouse; the ledger holds it as {entry.stage.value}",
        )
    if stage is FulfilmentStage.DESPATCHED and not entry.shipments:
        since = observed.updated_at or _at(entry, "submitted")
        grace = timedelta(minutes=config.despatched_grace_minutes)
        if since is not None and now - since > grace:
            return Mismatch(
                kind=MismatchKind.DESPATCHED_NOT_WRITTEN_BACK,
                detail=f"{where} despatched at the warehouse (last change {since.isoformat()}) but no "
                f"parcel written back to the source after {config.despatched_grace_minutes} min",
            )
    return None
