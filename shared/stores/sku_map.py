"""SKU map: which source SKUs are live at the warehouse, so a known SKU costs no API call."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


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
        live: set[str] = set()
        for start in range(0, len(wanted), 100):
            keys = [self._key(sku) for sku in wanted[start:start + 100]]
            request: dict[str, Any] = {self.table.name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.resource.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table.name, []):
                    if item.get("status") == "live":
                        live.add(item["sku"])
                request = response.get("UnprocessedKeys") or {}
        return live

    def mark_live(self, skus: Iterable[str], now: datetime, *, source: str) -> None:
        with self.table.batch_writer() as batch:
            for sku in skus:
                batch.put_item(Item={
                    **self._key(sku), "client_id": self.client, "sku": sku, "warehouse_sku": sku,
                    "status": "live", "checked_at": now.isoformat(timespec="milliseconds"), "via": source,
                })
