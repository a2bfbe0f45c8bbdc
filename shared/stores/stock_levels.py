"""What each stock target was last told, per (target, SKU, location), with the explanation of the figure.

Deltas only: the pusher compares a new figure with this record and calls the target only on change.
The explanation ("why is ATS = n") is stored with the push, so an operator can answer the question
without recomputing anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.flows.stock import PushedState
from shared.stores.batch import batch_get


@dataclass(frozen=True)
class PushView:
    """A push's reads of this store, taken together: last pushed states, drift caps, pending SKUs."""

    states: dict[tuple[str, str], PushedState]
    caps: dict[str, int]
    pending: set[str]


def _caps(item: dict[str, Any], skus: set[str] | None) -> dict[str, int]:
    """A caps item's caps, all of them or those of `skus`."""
    caps = {sku: int(cap) for sku, cap in item.get("caps", {}).items()}
    return caps if skus is None else {sku: cap for sku, cap in caps.items() if sku in skus}


def _skus(item: dict[str, Any]) -> set[str]:
    """A pending item's SKUs (none when it does not exist)."""
    return {str(sku) for sku in item.get("skus", set())}


class StockLevelStore:
    def __init__(self, table: Any, dynamodb: Any, client: str):
        self.table = table
        self.dynamodb = dynamodb
        self.client = client

    def _pk(self, target: str, sku: str, location: str) -> str:
        return f"{self.client}#{target}#{sku}#{location}"

    def states(self, target: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], PushedState]:
        """Last pushed state for (SKU, location) pairs, 100 keys per BatchGetItem (unprocessed keys retried)."""
        return self.push_view(target, keys).states

    def push_view(
        self, target: str, keys: Iterable[tuple[str, str]], *, caps_of: Iterable[str] = (), pending_of: str = ""
    ) -> PushView:
        """What a push decides on, in the same BatchGetItems: the last pushed states of these (SKU, location)
        pairs, the drift caps of `caps_of` (when any) and the SKUs pending under `pending_of` (when named)."""
        wanted = {self._pk(target, sku, location): (sku, location) for sku, location in keys}
        skus = set(caps_of)
        extra = ([self._caps_pk(target)] if skus else []) + ([self._pending_pk(pending_of)] if pending_of else [])
        items = self._batch_get([*wanted, *extra])
        states: dict[tuple[str, str], PushedState] = {}
        for pk, item in items.items():
            if pk not in wanted:
                continue
            pending_increase = item.get("pending_increase")
            since = item.get("pending_since")
            states[wanted[pk]] = PushedState(
                quantity=int(item["quantity"]),
                pending_increase=int(pending_increase) if pending_increase is not None else None,
                pending_since=datetime.fromisoformat(since) if since else None,
            )
        caps = _caps(items.get(self._caps_pk(target)) or {}, skus) if skus else {}
        pending = _skus(items.get(self._pending_pk(pending_of)) or {}) if pending_of else set()
        return PushView(states=states, caps=caps, pending=pending)

    def _batch_get(self, pks: list[str]) -> dict[str, dict[str, Any]]:
        """The items of these keys that exist, by key."""
        keys = [{"pk": pk} for pk in dict.fromkeys(pks)]
        return {item["pk"]: item for item in batch_get(self.dynamodb, self.table.name, keys)}

    def record(self, target: str, rows: Iterable[dict[str, Any]], *, now: datetime) -> None:
        """Write pushed figures (and pending increases) after the target accepted them."""
        stamp = now.isoformat(timespec="milliseconds")
        with self.table.batch_writer(overwrite_by_pkeys=["pk"]) as batch:
            for row in rows:
                item = {
                    "pk": self._pk(target, row["sku"], row["location"]),
                    "client_id": self.client,
                    "target": target,
                    "sku": row["sku"],
                    "location": row["location"],
                    "quantity": int(row["quantity"]),
                    "explanation": row["explanation"][:1000],
                    "trigger": row["trigger"],
                    "pushed_at": row.get("pushed_at") or stamp,
                    "checked_at": stamp,
                }
                if row.get("pending_increase") is not None:
                    item["pending_increase"] = int(row["pending_increase"])
                    item["pending_since"] = row["pending_since"].isoformat()
                batch.put_item(Item=item)

    def await_confirmation(self, target: str, rows: Iterable[dict[str, Any]], *, now: datetime) -> None:
        """Remember an increase seen once; the last pushed figure and its time stay as they were."""
        stamp = now.isoformat(timespec="milliseconds")
        for row in rows:
            self.table.update_item(
                Key={"pk": self._pk(target, row["sku"], row["location"])},
                UpdateExpression=(
                    "SET pending_increase = :p, pending_since = :since, pending_explanation = :e, checked_at = :now"
                ),
                ExpressionAttributeValues={
                    ":p": int(row["pending_increase"]),
                    ":e": row["explanation"][:1000],
                    ":since": row["pending_since"].isoformat(),
                    ":now": stamp,
                },
            )

    def clear_pending(self, target: str, keys: Iterable[tuple[str, str]], *, now: datetime) -> None:
        """An increase that the next read did not confirm is forgotten (a spike, reversed)."""
        for sku, location in keys:
            self.table.update_item(
                Key={"pk": self._pk(target, sku, location)},
                UpdateExpression="REMOVE pending_increase, pending_since, pending_explanation SET checked_at = :now",
                ExpressionAttributeValues={":now": now.isoformat(timespec="milliseconds")},
            )

    # SKUs with an increase awaiting confirmation, one item per target: a master read by its changed-since
    # feed does not list an unchanged SKU again, so the schedule re-reads these by name to confirm them.
    def _pending_pk(self, target: str) -> str:
        return f"{self.client}#{target}#pending"

    def pending_skus(self, target: str) -> set[str]:
        item = self.table.get_item(Key={"pk": self._pending_pk(target)}, ConsistentRead=True).get("Item") or {}
        return _skus(item)

    def mark_pending(self, target: str, *, add: Iterable[str], remove: Iterable[str], now: datetime) -> None:
        """One update: SKUs now awaiting confirmation join the set, those no longer awaiting leave it."""
        added, removed = set(add), set(remove) - set(add)
        stamp = now.isoformat(timespec="milliseconds")
        key = {"pk": self._pending_pk(target)}
        if added:
            self.table.update_item(
                Key=key,
                UpdateExpression="ADD skus :s SET checked_at = :now, client_id = :c",
                ExpressionAttributeValues={":s": added, ":now": stamp, ":c": self.client},
            )
        if removed:
            self.table.update_item(
                Key=key,
                UpdateExpression="DELETE skus :s SET checked_at = :now",
                ExpressionAttributeValues={":s": removed, ":now": stamp},
            )

    # Drift caps: while the warehouse holds less than the master says, pushes never exceed its figure.
    # Few SKUs are capped at a time, so one item per target holds them all: the pusher reads it once.
    def _caps_pk(self, target: str) -> str:
        return f"{self.client}#{target}#caps"

    def caps(self, target: str, skus: Iterable[str] | None = None) -> dict[str, int]:
        item = self.table.get_item(Key={"pk": self._caps_pk(target)}, ConsistentRead=True).get("Item") or {}
        return _caps(item, None if skus is None else set(skus))

    def replace_caps(self, target: str, caps: dict[str, int], *, reason: str, now: datetime) -> None:
        """The reconcile's whole view: SKUs not listed are no longer capped."""
        self.table.put_item(
            Item={
                "pk": self._caps_pk(target),
                "client_id": self.client,
                "target": target,
                "caps": {sku: max(0, int(cap)) for sku, cap in caps.items()},
                "reason": reason[:500],
                "set_at": now.isoformat(timespec="milliseconds"),
            }
        )

    def get(self, target: str, sku: str, location: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"pk": self._pk(target, sku, location)}, ConsistentRead=True).get("Item")
        return dict(item) if item else None
