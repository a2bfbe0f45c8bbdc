"""The order ledger: one item per order, source id -> warehouse id, stage and the time of each stage."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from shared.errors import SubmitCancelledError, SubmitClaimHeldError, SubmitClaimLostError
from shared.models.base import Model
from shared.stores.batch import batch_get


class Stage(StrEnum):
    RECEIVED = "received"
    NOT_READY = "not_ready"
    HELD = "held"
    SKIPPED = "skipped"
    QUARANTINED = "quarantined"
    RELEASED = "released"
    SUBMITTED = "submitted"
    PART_SHIPPED = "part_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


# The ledger's index by current stage (partition) and when the entry entered it (sort), declared in the
# topology: "released more than 15 minutes ago" is one bounded query, whatever the history holds.
BY_STAGE_INDEX = "by-stage"
# Despatch markers share the index: one item per parcel despatched and not yet written back.
AWAITING_WRITEBACK = "awaiting_writeback"

# Stages at which the order exists at the warehouse: intake never sends it again from these.
AT_WAREHOUSE = frozenset({Stage.SUBMITTED, Stage.PART_SHIPPED, Stage.SHIPPED})


class LedgerEntry(Model):
    client: str
    order_key: str
    order_number: str = ""
    stage: Stage = Stage.RECEIVED
    deliveries: int = 0
    duplicates_suppressed: int = 0
    warehouse_order_id: str | None = None
    client_reference: str | None = None
    reason: str | None = None
    source_updated_at: str | None = None
    submit_attempts: int = 0
    location: str = ""
    ordered: dict[str, Decimal] = {}
    shipments: dict[str, dict[str, Any]] = {}
    writeback_tasks: dict[str, str] = {}
    # The source's records a write-back can go to, as read at intake (Cin7 Core: open fulfilment task ids).
    writeback_tokens: tuple[str, ...] = ()
    closed: bool = False
    timestamps: dict[str, str] = {}
    submit_started_at: str | None = None  # when the latest submit claim was taken
    submit_reference: str | None = None
    submit_owner: str | None = None  # the token of the latest claim's holder
    submit_lease_until: str | None = None  # the latest claim holds until then (set to its end when given up)
    cancel_requested_at: str | None = None
    cancel_outcome: str | None = None
    cancel_detail: str | None = None
    despatched: dict[str, str] = {}  # parcel id -> when the warehouse despatched it (seen by the despatch poll)
    checked_at: str | None = None  # when the mismatch monitor last read the order's live warehouse status
    stage_at: str | None = None  # when the order entered its current stage

    def poll_listing_changes_nothing(self, listed_updated_at: datetime) -> bool:
        """Whether intake, handed a poll's listing of this order (last changed at `listed_updated_at`), would do
        nothing with it: a cancel owns the order, it is at the warehouse, or this version was already decided.
        The order poll leaves such rows unsent (take_in makes the same three checks first)."""
        if self.cancel_requested_at is not None or self.stage in AT_WAREHOUSE:
            return True
        return (
            self.source_updated_at is not None and datetime.fromisoformat(self.source_updated_at) >= listed_updated_at
        )

    def applied_parcels(self) -> dict[str, dict[str, Decimal]]:
        """parcel id -> sku -> quantity, for every parcel already written back."""
        return {
            parcel: {sku: Decimal(q) for sku, q in record.get("lines", {}).items()}
            for parcel, record in self.shipments.items()
        }


class SubmitClaim(Model):
    """The right to make one submit attempt for an order, held by `owner` until `lease_until`."""

    owner: str
    lease_until: datetime
    previous: LedgerEntry | None  # the entry as it was before the claim (None when the claim created it)

    @property
    def maybe_at_warehouse(self) -> bool:
        """An earlier claim ended without a recorded result: its create may have landed."""
        return self.previous is not None and self.previous.submit_attempts > 0


class DespatchMarker(Model):
    """A parcel the warehouse despatched that is not yet written back to the source."""

    order_key: str
    parcel_id: str
    despatched_at: datetime


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class LedgerStore:
    """Stage only moves forward past `submitted`: a late duplicate can never un-submit an order."""

    def __init__(self, table: Any, client: str, dynamodb_resource: Any = None):
        self.table = table
        self.client = client
        self.resource = dynamodb_resource  # for BatchGetItem (get_many); None: one GetItem per key

    def _key(self, order_key: str) -> dict[str, str]:
        return {"pk": f"{self.client}#{order_key}"}

    def get(self, order_key: str) -> LedgerEntry | None:
        item = self.table.get_item(Key=self._key(order_key), ConsistentRead=True).get("Item")
        return _entry(item) if item else None

    def get_many(self, order_keys: Iterable[str]) -> dict[str, LedgerEntry]:
        """The entries of these orders that exist, by order key: one consistent BatchGetItem per 100 keys."""
        wanted = sorted(set(order_keys))
        if self.resource is None:
            return {key: entry for key in wanted if (entry := self.get(key)) is not None}
        items = self._batch_get([self._key(key) for key in wanted])
        return {item["order_key"]: _entry(item) for item in items if "order_key" in item}

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        return batch_get(self.resource, self.table.name, keys)

    def record_delivery(self, order_key: str, *, order_number: str, trigger: str, now: datetime) -> LedgerEntry:
        """Count a delivery (webhook, poll or replay) of this order's reference; create the entry if new."""
        result = self.table.update_item(
            Key=self._key(order_key),
            UpdateExpression=(
                "SET client_id = :client, order_key = :key, order_number = :number, "
                "stage = if_not_exists(stage, :received), stage_at = if_not_exists(stage_at, :now), "
                "last_trigger = :trigger, "
                "ts_received = if_not_exists(ts_received, :now), updated_at = :now ADD deliveries :one"
            ),
            ExpressionAttributeValues={
                ":client": self.client,
                ":key": order_key,
                ":number": order_number,
                ":received": Stage.RECEIVED.value,
                ":trigger": trigger,
                ":now": _iso(now),
                ":one": 1,
            },
            ReturnValues="ALL_NEW",
        )
        return _entry(result["Attributes"])

    def count_duplicate(self, order_key: str, now: datetime) -> None:
        self.table.update_item(
            Key=self._key(order_key),
            UpdateExpression="SET updated_at = :now ADD duplicates_suppressed :one",
            ExpressionAttributeValues={":now": _iso(now), ":one": 1},
        )

    def set_stage(
        self,
        order_key: str,
        stage: Stage,
        now: datetime,
        *,
        reason: str | None = None,
        source_updated_at: datetime | None = None,
        ordered: dict[str, Decimal] | None = None,
        location: str = "",
        writeback_tokens: tuple[str, ...] | None = None,
    ) -> bool:
        """Move to `stage` unless already submitted; False when the order was already at the warehouse.

        `source_updated_at` records which version of the source order this decision was made on, so a
        poll that re-lists the same version can skip reading it again. `writeback_tokens` keeps what the
        order's read said a shipment write-back can go to, so the write-back need not read it again.
        """
        expression = (
            f"SET stage = :stage, stage_at = :now, ts_{stage.value} = :now, updated_at = :now, reason = :reason"
        )
        values: dict[str, Any] = {
            ":stage": stage.value,
            ":now": _iso(now),
            ":reason": reason,
            ":submitted": Stage.SUBMITTED.value,
        }
        if source_updated_at is not None:
            expression += ", source_updated_at = :version"
            values[":version"] = _iso(source_updated_at)
        if ordered is not None:  # what the order would take from stock, and where (stock drift reads it)
            expression += ", ordered = :ordered, fulfil_location = :location"
            values[":ordered"] = dict(ordered)
            values[":location"] = location
        if writeback_tokens is not None:
            expression += ", writeback_tokens = :tokens"
            values[":tokens"] = list(writeback_tokens)
        try:
            self.table.update_item(
                Key=self._key(order_key),
                UpdateExpression=expression,
                ConditionExpression=(
                    "attribute_not_exists(stage) OR NOT stage IN (:submitted, :part, :shipped, :cancelled)"
                ),
                ExpressionAttributeValues={
                    **values,
                    ":part": Stage.PART_SHIPPED.value,
                    ":shipped": Stage.SHIPPED.value,
                    ":cancelled": Stage.CANCELLED.value,
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def claim_submit(
        self,
        order_key: str,
        *,
        owner: str,
        now: datetime,
        lease_seconds: float,
        client_reference: str,
    ) -> SubmitClaim | LedgerEntry:
        """Claim the order for one submit attempt, before any warehouse call: one conditional write.

        Granted only while no cancel was requested, the order has no warehouse id, and no other claim's lease
        is running; it counts the attempt and returns the claim. Otherwise: SubmitCancelledError once a cancel
        was requested (that write and this one are the two sides of the cancel race), the entry when the order
        is already at the warehouse, and SubmitClaimHeldError while another holder's lease runs.
        """
        lease_until = now + timedelta(seconds=lease_seconds)
        try:
            result = self.table.update_item(
                Key=self._key(order_key),
                UpdateExpression=(
                    "SET updated_at = :now, submit_started_at = :now, submit_reference = :ref, "
                    "submit_owner = :owner, submit_lease_until = :until ADD submit_attempts :one"
                ),
                ConditionExpression=(
                    "attribute_not_exists(cancel_requested_at) AND attribute_not_exists(warehouse_order_id) AND "
                    "(submit_lease_until <= :now OR (attribute_not_exists(submit_lease_until) AND "
                    # an attempt from before leases were recorded holds for one lease from its start
                    "(attribute_not_exists(submit_started_at) OR submit_started_at <= :legacy)))"
                ),
                ExpressionAttributeValues={
                    ":now": _iso(now),
                    ":one": 1,
                    ":ref": client_reference,
                    ":owner": owner,
                    ":until": _iso(lease_until),
                    ":legacy": _iso(now - timedelta(seconds=lease_seconds)),
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self._refused_claim(order_key, now, lease_seconds)
        previous = result.get("Attributes")
        return SubmitClaim(
            owner=owner,
            lease_until=lease_until,
            previous=_entry(previous) if previous and "client_id" in previous else None,
        )

    def _refused_claim(self, order_key: str, now: datetime, lease_seconds: float) -> LedgerEntry:
        """Why a claim was refused, read back (consistently) after the refusal."""
        entry = self.get(order_key)
        if entry is None:  # the condition cannot fail on a missing item; read as a holder that vanished
            raise SubmitClaimHeldError(f"{order_key}: claim refused, entry not found", retry_after=0.0)
        if entry.cancel_requested_at:
            raise SubmitCancelledError(f"{order_key}: cancel requested before the submit began")
        if entry.warehouse_order_id:
            return entry
        if entry.submit_lease_until:
            until = datetime.fromisoformat(entry.submit_lease_until)
        elif entry.submit_started_at:
            until = datetime.fromisoformat(entry.submit_started_at) + timedelta(seconds=lease_seconds)
        else:
            until = now
        raise SubmitClaimHeldError(
            f"{order_key}: another submit holds the order until {entry.submit_lease_until}",
            retry_after=max(0.0, (until - now).total_seconds()),
        )

    def release_submit(self, order_key: str, claim: SubmitClaim, now: datetime) -> bool:
        """The holder gives its claim up (its attempt failed and it makes no more calls): the lease ends now, and
        the next attempt need not wait for it. The attempt stays counted, so that attempt looks the order up at
        the warehouse before creating it. False when the claim was no longer this holder's."""
        try:
            self.table.update_item(
                Key=self._key(order_key),
                UpdateExpression="SET submit_lease_until = :now, updated_at = :now",
                ConditionExpression="submit_owner = :owner AND attribute_not_exists(warehouse_order_id)",
                ExpressionAttributeValues={":now": _iso(now), ":owner": claim.owner},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record_submitted(
        self,
        order_key: str,
        *,
        warehouse_order_id: str,
        client_reference: str,
        created: bool,
        now: datetime,
        ordered: dict[str, Decimal] | None = None,
        location: str = "",
        claim: SubmitClaim | None = None,
    ) -> None:
        """At the warehouse: record its id, what was ordered (for the despatch closing rule), and index the
        client reference so a shipment, which only knows the reference, finds its order in one read.

        The index first (the same item whoever writes it), then the entry: a failure between the two leaves
        the order unrecorded, and the next attempt writes both. With `claim`, the entry is written only while
        that claim is still the latest (SubmitClaimLostError otherwise: a later holder owns the outcome);
        without one (seeding a ledger, operations) it is unconditional.
        """
        self.table.put_item(
            Item={
                "pk": self._reference_key(client_reference),
                "order_key": order_key,
                "client_id": self.client,
                "kind": "reference",
            }
        )
        values: dict[str, Any] = {
            ":client": self.client,
            ":key": order_key,
            ":stage": Stage.SUBMITTED.value,
            ":wid": warehouse_order_id,
            ":ref": client_reference,
            ":created": created,
            ":now": _iso(now),
            ":ordered": dict(ordered or {}),
            ":location": location,
            ":none": {},
        }
        condition: dict[str, Any] = {}
        if claim is not None:
            condition = {"ConditionExpression": "submit_owner = :owner"}
            values[":owner"] = claim.owner
        try:
            self.table.update_item(
                Key=self._key(order_key),
                UpdateExpression=(
                    "SET client_id = :client, order_key = :key, stage = if_not_exists(stage_after_submit, :stage), "
                    "stage_at = :now, "
                    "warehouse_order_id = :wid, client_reference = :ref, created_by_us = :created, "
                    "ordered = :ordered, fulfil_location = :location, shipments = if_not_exists(shipments, :none), "
                    "writeback_tasks = if_not_exists(writeback_tasks, :none), "
                    "despatched = if_not_exists(despatched, :none), submit_lease_until = :now, "
                    "ts_submitted = if_not_exists(ts_submitted, :now), updated_at = :now REMOVE reason"
                ),
                ExpressionAttributeValues=values,
                **condition,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise SubmitClaimLostError(
                    f"{order_key}: the claim passed to another submit before warehouse order "
                    f"{warehouse_order_id} was recorded"
                ) from None
            raise

    def request_cancel(
        self, order_key: str, *, requested_at: datetime, order_number: str, now: datetime
    ) -> LedgerEntry:
        """Write the cancel request on the order (creating the entry if the order never reached us).

        After this write no submit can begin (begin_submit is conditional on its absence), so what the
        returned entry says about submits is final but for an attempt already under way. Repeats keep
        the first request time.
        """
        result = self.table.update_item(
            Key=self._key(order_key),
            UpdateExpression=(
                "SET client_id = :client, order_key = :key, order_number = if_not_exists(order_number, :number), "
                "cancel_requested_at = if_not_exists(cancel_requested_at, :at), updated_at = :now"
            ),
            ExpressionAttributeValues={
                ":client": self.client,
                ":key": order_key,
                ":number": order_number,
                ":at": _iso(requested_at),
                ":now": _iso(now),
            },
            ReturnValues="ALL_NEW",
        )
        return _entry(result["Attributes"])

    def record_cancel_outcome(
        self,
        order_key: str,
        *,
        outcome: str,
        detail: str,
        cancelled: bool,
        now: datetime,
        warehouse_order_id: str | None = None,
    ) -> None:
        """The cancellation's outcome; an accepted cancel also moves the stage to cancelled (idempotent)."""
        expression = (
            "SET cancel_outcome = :outcome, cancel_detail = :detail, ts_cancel_decided = :now, updated_at = :now"
        )
        values: dict[str, Any] = {":outcome": outcome, ":detail": detail, ":now": _iso(now)}
        if cancelled:
            expression += ", stage = :cancelled, ts_cancelled = if_not_exists(ts_cancelled, :now)"
            values[":cancelled"] = Stage.CANCELLED.value
        if warehouse_order_id:
            expression += ", warehouse_order_id = if_not_exists(warehouse_order_id, :wid)"
            values[":wid"] = warehouse_order_id
        self.table.update_item(Key=self._key(order_key), UpdateExpression=expression, ExpressionAttributeValues=values)

    def _reference_key(self, client_reference: str) -> str:
        return f"{self.client}#reference#{client_reference}"

    def find_by_reference(self, client_reference: str) -> str | None:
        item = self.table.get_item(Key={"pk": self._reference_key(client_reference)}, ConsistentRead=True).get("Item")
        return item["order_key"] if item else None

    def find_many_by_reference(self, client_references: Iterable[str]) -> dict[str, str]:
        """reference -> order key for the references the ledger knows (`find_by_reference`, batched)."""
        wanted = sorted(set(client_references))
        if self.resource is None:
            return {ref: key for ref in wanted if (key := self.find_by_reference(ref)) is not None}
        by_pk = {self._reference_key(ref): ref for ref in wanted}
        items = self._batch_get([{"pk": pk} for pk in by_pk])
        return {by_pk[item["pk"]]: item["order_key"] for item in items if item["pk"] in by_pk and "order_key" in item}

    def claim_task(self, order_key: str, *, parcel_id: str, task_id: str) -> None:
        """Remember which source fulfilment task carries a parcel, before the first write to it, so a retry
        resumes that task instead of adding another (the source has no idempotency key of its own)."""
        self.table.update_item(
            Key=self._key(order_key),
            UpdateExpression="SET writeback_tasks.#parcel = :task",
            ConditionExpression="attribute_exists(writeback_tasks)",
            ExpressionAttributeNames={"#parcel": parcel_id},
            ExpressionAttributeValues={":task": task_id},
        )

    def record_shipment(
        self, order_key: str, *, parcel_id: str, record: dict[str, Any], closes_order: bool, now: datetime
    ) -> bool:
        """Add one parcel to the order, once: False when this parcel was already recorded."""
        stage = Stage.SHIPPED if closes_order else Stage.PART_SHIPPED
        try:
            self.table.update_item(
                Key=self._key(order_key),
                UpdateExpression=(
                    "SET shipments.#parcel = :record, stage = :stage, stage_at = :now, stage_after_submit = :stage, "
                    "closed = :closed, updated_at = :now, ts_"
                    + stage.value
                    + " = if_not_exists(ts_"
                    + stage.value
                    + ", :now), ts_first_shipped = if_not_exists(ts_first_shipped, :now)"
                ),
                ConditionExpression="attribute_exists(shipments) AND attribute_not_exists(shipments.#parcel)",
                ExpressionAttributeNames={"#parcel": parcel_id},
                ExpressionAttributeValues={
                    ":record": record,
                    ":stage": stage.value,
                    ":closed": closes_order,
                    ":now": _iso(now),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        self.clear_despatch(parcel_id)  # written back: no longer awaited
        return True

    def at_stage(
        self,
        stage: str,
        *,
        entered_from: datetime | None = None,
        entered_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Raw items at `stage` that entered it in [entered_from, entered_before), oldest first, from the
        by-stage index: the monitors' bounded read (the index holds open and closed orders alike, so every
        read names a time range or a limit)."""
        condition = "#stage = :stage"
        values: dict[str, Any] = {":stage": stage}
        if entered_from is not None and entered_before is not None:
            condition += " AND stage_at BETWEEN :from AND :before"
            values.update({":from": _iso(entered_from), ":before": _iso(entered_before - timedelta(milliseconds=1))})
        elif entered_from is not None:
            condition += " AND stage_at >= :from"
            values[":from"] = _iso(entered_from)
        elif entered_before is not None:
            condition += " AND stage_at < :before"
            values[":before"] = _iso(entered_before)
        kwargs: dict[str, Any] = {
            "IndexName": BY_STAGE_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#stage": "stage"},
            "ExpressionAttributeValues": values,
        }
        items: list[dict[str, Any]] = []
        while limit is None or len(items) < limit:
            if limit is not None:
                kwargs["Limit"] = limit - len(items)
            page = self.table.query(**kwargs)
            items.extend(item for item in page.get("Items", []) if item.get("client_id") == self.client)
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items

    def entries_at(self, stage: Stage, **window: Any) -> list[LedgerEntry]:
        """Orders at `stage` (see `at_stage` for the window)."""
        return [_entry(item) for item in self.at_stage(stage.value, **window) if "order_key" in item]

    def awaiting_writeback(self, *, despatched_before: datetime) -> list[DespatchMarker]:
        """Parcels the warehouse despatched before the given time and that are not yet written back."""
        return [
            DespatchMarker(
                order_key=item["order_key"],
                parcel_id=item["parcel_id"],
                despatched_at=datetime.fromisoformat(item["stage_at"]),
            )
            for item in self.at_stage(AWAITING_WRITEBACK, entered_before=despatched_before)
        ]

    def note_despatched(
        self, client_reference: str, *, parcel_id: str, despatched_at: datetime, order_key: str | None = None
    ) -> bool:
        """Remember that the warehouse despatched a parcel, before it is written back: the stall monitor times
        the write-back from it. A marker item (in the by-stage index) until the parcel is written back, and
        the despatch time on the order for the timeline. False when the reference is unknown or already noted.
        `order_key` is the reference's order when the caller has already looked it up (a batched poll)."""
        order_key = order_key or self.find_by_reference(client_reference)
        if order_key is None:
            return False
        try:
            self.table.update_item(
                Key=self._key(order_key),
                UpdateExpression="SET despatched.#parcel = :at",
                # The map is created with the submit record; a parcel is noted once, and never once written back.
                ConditionExpression="attribute_exists(despatched) AND attribute_not_exists(despatched.#parcel) "
                "AND attribute_not_exists(shipments.#parcel)",
                ExpressionAttributeNames={"#parcel": parcel_id},
                ExpressionAttributeValues={":at": _iso(despatched_at)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        self.table.put_item(
            Item={
                "pk": self._despatch_key(parcel_id),
                "client_id": self.client,
                "kind": "despatch",
                "order_key": order_key,
                "parcel_id": parcel_id,
                "stage": AWAITING_WRITEBACK,
                "stage_at": _iso(despatched_at),
            }
        )
        return True

    def clear_despatch(self, parcel_id: str) -> None:
        """The parcel is written back (or its marker outlived a race with the write-back): stop awaiting it."""
        self.table.delete_item(Key={"pk": self._despatch_key(parcel_id)})

    def _despatch_key(self, parcel_id: str) -> str:
        return f"{self.client}#despatch#{parcel_id}"

    def mark_checked(self, order_key: str, now: datetime) -> None:
        """The mismatch monitor read this order's live status now (it rotates through open orders)."""
        self.table.update_item(
            Key=self._key(order_key),
            UpdateExpression="SET mismatch_checked_at = :now",
            ExpressionAttributeValues={":now": _iso(now)},
        )

    def find_by_order_number(self, order_number: str) -> list[LedgerEntry]:
        """Entries whose source order number is `order_number`: a filtered scan, for operators only."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "order_number = :number AND client_id = :client",
            "ExpressionAttributeValues": {":number": order_number, ":client": self.client},
        }
        while True:
            page = self.table.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [_entry(item) for item in items if item.get("kind") not in ("reference", "despatch")]

    def scan(self) -> list[LedgerEntry]:
        """Every entry of this client (operations and the sandbox summary; not on a hot path)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self.table.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [
            _entry(item)
            for item in items
            if item.get("client_id") == self.client
            and "order_key" in item
            and item.get("kind") not in ("reference", "despatch")
        ]


def _entry(item: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        client=item.get("client_id", ""),
        order_key=item.get("order_key", item["pk"].split("#", 1)[-1]),
        order_number=item.get("order_number", ""),
        stage=Stage(item.get("stage", Stage.RECEIVED.value)),
        deliveries=int(item.get("deliveries", 0)),
        duplicates_suppressed=int(item.get("duplicates_suppressed", 0)),
        warehouse_order_id=item.get("warehouse_order_id"),
        client_reference=item.get("client_reference"),
        reason=item.get("reason"),
        source_updated_at=item.get("source_updated_at"),
        submit_attempts=int(item.get("submit_attempts", 0)),
        location=item.get("fulfil_location", ""),
        ordered={sku: Decimal(q) for sku, q in item.get("ordered", {}).items()},
        shipments=item.get("shipments", {}),
        writeback_tasks=item.get("writeback_tasks", {}),
        writeback_tokens=tuple(item.get("writeback_tokens", ())),
        closed=bool(item.get("closed", False)),
        timestamps={k[3:]: v for k, v in item.items() if k.startswith("ts_")},
        submit_started_at=item.get("submit_started_at"),
        submit_reference=item.get("submit_reference") or None,
        submit_owner=item.get("submit_owner"),
        submit_lease_until=item.get("submit_lease_until"),
        cancel_requested_at=item.get("cancel_requested_at"),
        cancel_outcome=item.get("cancel_outcome"),
        cancel_detail=item.get("cancel_detail"),
        despatched=item.get("despatched", {}),
        checked_at=item.get("mismatch_checked_at"),
        stage_at=item.get("stage_at"),
    )
