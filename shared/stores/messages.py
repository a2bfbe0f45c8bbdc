"""Pushed platform messages already handled: one item per message id, one per resource with the highest
version handled. Both expire (`retention_days`): a redelivery comes within hours, and the order itself is
re-read before anything acts on it, so a message forgotten after that costs a read, never a duplicate.

Recorded only after the message's work succeeded, so a failed attempt is retried, not remembered. Recording
is idempotent: the version only ever moves up (a conditional write), and a message id written twice is
the same item.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


class MessageLog:
    def __init__(self, table: Any, client: str, *, retention_days: int = 30):
        self.table = table
        self.client = client
        self.retention = timedelta(days=retention_days)

    def _message_key(self, platform: str, message_id: str) -> dict[str, str]:
        return {"pk": f"{self.client}#{platform}#message#{message_id}"}

    def _resource_key(self, platform: str, resource: str) -> dict[str, str]:
        return {"pk": f"{self.client}#{platform}#resource#{resource}"}

    def seen(self, platform: str, message_id: str) -> bool:
        item = self.table.get_item(Key=self._message_key(platform, message_id), ConsistentRead=True).get("Item")
        return item is not None

    def last_version(self, platform: str, resource: str) -> int | None:
        item = self.table.get_item(Key=self._resource_key(platform, resource), ConsistentRead=True).get("Item")
        return int(item["version"]) if item and "version" in item else None

    def record(self, platform: str, message_id: str, resource: str, version: int | None, now: datetime) -> None:
        """The message is handled; its resource's version moves up to `version`, never down."""
        from botocore.exceptions import ClientError

        expires = int((now + self.retention).timestamp())
        self.table.put_item(
            Item={
                **self._message_key(platform, message_id),
                "resource": resource,
                "handled_at": now.isoformat(),
                "expires_at": expires,
                "client_id": self.client,
            }
        )
        if version is None:
            return
        try:
            self.table.update_item(
                Key=self._resource_key(platform, resource),
                UpdateExpression="SET #version = :version, handled_at = :now, expires_at = :expires, client_id = :c",
                ConditionExpression="attribute_not_exists(#version) OR #version < :version",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={
                    ":version": version,
                    ":now": now.isoformat(),
                    ":expires": expires,
                    ":c": self.client,
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # else: an equal or later version is recorded already
