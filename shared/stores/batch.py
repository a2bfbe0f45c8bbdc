"""One consistent read of many items: DynamoDB's BatchGetItem, 100 keys a call, unprocessed keys asked again."""

from __future__ import annotations

from typing import Any

BATCH_GET_LIMIT = 100  # keys per BatchGetItem, DynamoDB's limit


def batch_get(resource: Any, table_name: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of these keys that exist (any order), read consistently through the DynamoDB resource."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {table_name: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}}
        while request:
            response = resource.batch_get_item(RequestItems=request)
            found.extend(response["Responses"].get(table_name, []))
            request = response.get("UnprocessedKeys") or {}
    return found
