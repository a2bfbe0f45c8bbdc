"""What each stock target was last told, per (target, SKU, location), with the explanation of the figure.

Deltas only: the pusher compares a new figure with this record and calls the target only on change.
The explanation ("why is ATS = n") is stored with the push, so an operator can answer the question
without recomputing anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.flows.stock import PushedState


class StockLevelStore:
    def __init__(self, table: Any, dynamodb: Any, client: str):
        self.table = table
        self.dynamodb = dynamodb
        self.client = client

    def _pk(self, target: str, sku: str, location: str) -> str:
        return f"{self.client}#{target}#{sku}#{location}"

    def states(self, target: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], PushedState]:
        """Last pushed state for (SKU, location) pairs."""
        return self.states_and_caps(target, keys, [])[0]

    def states_and_caps(
        self, target: str, keys: Iterable[tuple[str, str]], skus: Iterable[str]
    ) -> tuple[dict[tuple[str, str], PushedState], dict[str, int]]:
        """Pushed states and drift caps in one pass: 100 keys per BatchGetItem, unprocessed keys retried."""
        wanted: dict[str, tuple[str, str] | str] = {self._pk(target, sku, location): (sku, location)
                                                    for sku, location in keys}
        wanted.update({self._cap_pk(target, sku): sku for sku in skus})
        states: dict[tuple[str, str], PushedState] = {}
        caps: dict[str, int] = {}
        pending = list(wanted)
        while pending:
            chunk, pending = pending[:100], pending[100:]
            request: dict[str, Any] = {self.table.name: {"Keys": [{"pk": pk} for pk in chunk], "ConsistentRead": True}}
            while request:
                answer = self.dynamodb.batch_get_item(RequestItems=request)
                for item in answer["Responses"].get(self.table.name, []):
                    key = wanted[item["pk"]]
                    if isinstance(key, str):
                        caps[key] = int(item["cap"])
                        continue
                    pending_increase = item.get("pending_increase")
                    states[key] = PushedState(
                        quantity=int(item["quantity"]),
                        pending_increase=int(pending_increase) if pending_increase is not None else None,
                    )
                request = answer.get("UnprocessedKeys") or {}
        return states, caps

    def record(self, target: str, rows: Iterable[dict[str, Any]], *, now: datetime) -> None:
        """Write pushed figures (and pending increases) after the target accepted them."""
        stamp = now.isoformat(timespec="milliseconds")
        with self.table.batch_writer(overwrite_by_pkeys=["pk"]) as batch:
            for row in rows:
                item = {
                    "pk": self._pk(target, row["sku"], row["location"]), "client_id": self.client, "target": target,
                    "sku": row["sku"], "location": row["location"], "quantity": int(row["quantity"]),
                    "explanation": row["explanation"][:1000], "trigger": row["trigger"],
                    "pushed_at": row.get("pushed_at") or stamp, "checked_at": stamp,
                }
                if row.get("pending_increase") is not None:
                    item["pending_increase"] = int(row["pending_increase"])
                batch.put_item(Item=item)

    def await_confirmation(self, target: str, rows: Iterable[dict[str, Any]], *, now: datetime) -> None:
        """Remember an increase seen once; the last pushed figure and its time stay as they were."""
        stamp = now.isoformat(timespec="milliseconds")
        for row in rows:
            self.table.update_item(
                Key={"pk": self._pk(target, row["sku"], row["location"])},
                UpdateExpression="SET pending_increase = :p, pending_explanation = :e, checked_at = :now",
                ExpressionAttributeValues={":p": int(row["pending_increase"]), ":e": row["explanation"][:1000],
                                           ":now": stamp},
            )

    def clear_pending(self, target: str, keys: Iterable[tuple[str, str]], *, now: datetime) -> None:
        """An increase that the next read did not confirm is forgotten (a spike, reversed)."""
        for sku, location in keys:
            self.table.update_item(
                Key={"pk": self._pk(target, sku, location)},
                UpdateExpression="REMOVE pending_increase, pending_explanation SET checked_at = :now",
                ExpressionAttributeValues={":now": now.isoformat(timespec="milliseconds")},
            )

    # Drift caps: while the warehouse holds less than the master says, pushes never exceed its figure.
    def _cap_pk(self, target: str, sku: str) -> str:
        return f"{self.client}#{target}#cap#{sku}"

    def caps(self, target: str, skus: Iterable[str]) -> dict[str, int]:
        return self.states_and_caps(target, [], skus)[1]

    def all_caps(self, target: str) -> dict[str, int]:
        from boto3.dynamodb.conditions import Attr

        caps: dict[str, int] = {}
        kwargs: dict[str, Any] = {"FilterExpression": Attr("kind").eq("cap") & Attr("client_id").eq(self.client)
                                  & Attr("target").eq(target)}
        while True:
            page = self.table.scan(**kwargs)
            caps.update({item["sku"]: int(item["cap"]) for item in page.get("Items", [])})
            if "LastEvaluatedKey" not in page:
                return caps
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_caps(self, target: str, caps: dict[str, int], *, reason: str, now: datetime) -> None:
        with self.table.batch_writer(overwrite_by_pkeys=["pk"]) as batch:
            for sku, cap in caps.items():
                batch.put_item(Item={"pk": self._cap_pk(target, sku), "kind": "cap", "client_id": self.client,
                                     "target": target, "sku": sku, "cap": max(0, int(cap)), "reason": reason[:500],
                                     "set_at": now.isoformat(timespec="milliseconds")})

    def clear_caps(self, target: str, skus: Iterable[str]) -> None:
        with self.table.batch_writer() as batch:
            for sku in skus:
                batch.delete_item(Key={"pk": self._cap_pk(target, sku)})

    def get(self, target: str, sku: str, location: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"pk": self._pk(target, sku, location)}, ConsistentRead=True).get("Item")
        return dict(item) if item else None
