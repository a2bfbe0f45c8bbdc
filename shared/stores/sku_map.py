"""SKU map: per client, source SKU -> warehouse item, status (pending, live, rejected), last synced version,
and the orders waiting for it. A SKU known live costs no API call at order intake."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.models.base import Model
from shared.stores.batch import batch_get


class SkuStatus(StrEnum):
    PENDING = "pending"
    LIVE = "live"
    REJECTED = "rejected"


class SkuRecord(Model):
    sku: str
    status: SkuStatus
    warehouse_item_id: str | None = None
    synced_version: datetime | None = None
    reason: str | None = None
    waiting_orders: frozenset[str] = frozenset()
    pending_since: datetime | None = None
    prices: dict[str, Decimal] = {}  # price list id -> the amount last written there


class SkuMapStore:
    def __init__(self, table: Any, dynamodb_resource: Any, client: str):
        self.table = table
        self.resource = dynamodb_resource
        self.client = client

    def _key(self, sku: str) -> dict[str, str]:
        return {"pk": f"{self.client}#{sku}"}

    def live_skus(self, skus: Iterable[str]) -> set[str]:
        """Of these SKUs, the ones recorded live (one BatchGetItem per 100 keys)."""
        wanted = sorted(set(skus))
        items = batch_get(self.resource, self.table.name, [self._key(sku) for sku in wanted])
        return {item["sku"] for item in items if item.get("status") == SkuStatus.LIVE}

    def mark_live(self, skus: Iterable[str], now: datetime, *, source: str) -> None:
        """SKUs found in the warehouse catalogue (created there by hand, or before Hopline)."""
        for sku in skus:
            self.record(sku, SkuStatus.LIVE, now=now, via=source)

    def record(
        self,
        sku: str,
        status: SkuStatus,
        *,
        now: datetime,
        item_id: str | None = None,
        version: datetime | None = None,
        reason: str | None = None,
        via: str = "product_sync",
    ) -> None:
        expression = "SET client_id = :client, sku = :sku, #status = :status, checked_at = :now, via = :via"
        values: dict[str, Any] = {
            ":client": self.client,
            ":sku": sku,
            ":status": status.value,
            ":now": now.isoformat(),
            ":via": via,
        }
        if item_id is not None:
            expression += ", warehouse_item_id = :item, warehouse_sku = :sku"
            values[":item"] = item_id
        if version is not None:
            expression += ", synced_version = :version"
            values[":version"] = version.isoformat()
        if reason is not None:
            expression += ", reason = :reason"
            values[":reason"] = reason
        self.table.update_item(
            Key=self._key(sku),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def record_prices(self, sku: str, prices: dict[str, Decimal], *, now: datetime) -> None:
        """Remember the prices the target now holds (list id -> amount), so an unchanged price costs no call
        next time. The product sync is the only writer (one consumer), so the whole map is set."""
        self.table.update_item(
            Key=self._key(sku),
            UpdateExpression="SET client_id = :client, sku = :sku, prices = :prices, prices_at = :now",
            ExpressionAttributeValues={
                ":client": self.client,
                ":sku": sku,
                ":prices": dict(prices),
                ":now": now.isoformat(),
            },
        )

    def get(self, sku: str) -> SkuRecord | None:
        item = self.table.get_item(Key=self._key(sku), ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def hold_for(self, skus: Iterable[str], order_key: str, now: datetime) -> None:
        """Remember that an order waits for these SKUs (status pending unless already known)."""
        for sku in skus:
            self.table.update_item(
                Key=self._key(sku),
                UpdateExpression=(
                    "SET client_id = :client, sku = :sku, #status = if_not_exists(#status, :pending), "
                    "pending_since = if_not_exists(pending_since, :now) ADD waiting_orders :order"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":client": self.client,
                    ":sku": sku,
                    ":pending": SkuStatus.PENDING.value,
                    ":now": now.isoformat(),
                    ":order": {order_key},
                },
            )

    def release_waiting(self, sku: str, order_keys: Iterable[str]) -> None:
        keys = set(order_keys)
        if keys:
            self.table.update_item(
                Key=self._key(sku),
                UpdateExpression="DELETE waiting_orders :orders REMOVE pending_since",
                ExpressionAttributeValues={":orders": keys},
            )

    def waiting(self) -> list[SkuRecord]:
        """SKUs with orders waiting (for the long-hold monitor); a scan of a small table."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "attribute_exists(waiting_orders) AND client_id = :client",
            "ExpressionAttributeValues": {":client": self.client},
        }
        while True:
            page = self.table.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [_record(item) for item in items]


def _record(item: dict[str, Any]) -> SkuRecord:
    return SkuRecord(
        sku=item["sku"],
        status=SkuStatus(item.get("status", SkuStatus.PENDING)),
        warehouse_item_id=item.get("warehouse_item_id"),
        synced_version=datetime.fromisoformat(item["synced_version"]) if item.get("synced_version") else None,
        reason=item.get("reason"),
        waiting_orders=frozenset(item.get("waiting_orders", set())),
        pending_since=datetime.fromisoformat(item["pending_since"]) if item.get("pending_since") else None,
        prices={str(key): Decimal(str(value)) for key, value in (item.get("prices") or {}).items()},
    )
