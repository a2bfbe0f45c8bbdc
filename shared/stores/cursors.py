"""Poll cursors: the high-water mark of each polled feed, so a poll resumes where the last one ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class CursorStore:
    def __init__(self, table: Any, client: str):
        self.table = table
        self.client = client

    def get(self, feed: str) -> datetime | None:
        item = self.table.get_item(Key={"pk": f"{self.client}#{feed}"}, ConsistentRead=True).get("Item")
        return datetime.fromisoformat(item["cursor"]) if item else None

    def advance(self, feed: str, cursor: datetime, now: datetime, *, previous: datetime | None = None) -> None:
        """Move forward only: two overlapping polls can never move the cursor back.

        Pass the cursor the poll started from as `previous`: an idle poll then costs no write.
        """
        from botocore.exceptions import ClientError

        if previous is not None and cursor <= previous:
            return
        try:
            self.table.put_item(
                Item={
                    "pk": f"{self.client}#{feed}",
                    "cursor": cursor.isoformat(),
                    "updated_at": now.isoformat(),
                    "client_id": self.client,
                },
                ConditionExpression="attribute_not_exists(pk) OR #cursor <= :cursor",
                ExpressionAttributeNames={"#cursor": "cursor"},
                ExpressionAttributeValues={":cursor": cursor.isoformat()},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def move_to(self, feed: str, cursor: datetime, now: datetime) -> None:
        """Set a position that may go back (a rotation that wraps around), unlike a poll's high-water mark."""
        self.table.put_item(
            Item={
                "pk": f"{self.client}#{feed}",
                "cursor": cursor.isoformat(),
                "updated_at": now.isoformat(),
                "client_id": self.client,
            }
        )
