"""Payload archive: every inbound and outbound payload in S3, keyed so one order's payloads list together."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any

# An id goes into a key as it is only when it is short and of safe characters; anything else (a bounds
# breach that got this far, another platform's id format) is replaced by its digest. S3 keys are capped
# at 1,024 bytes, and a lone surrogate cannot be encoded into one at all.
_SAFE_PART = re.compile(r"^[A-Za-z0-9._:-]{1,80}$")


def key_part(value: str) -> str:
    """`value` when it is safe in an S3 key, else a stable digest of it (so one id always lists together)."""
    if _SAFE_PART.match(value) and value not in (".", ".."):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"h-{digest}"


class PayloadArchive:
    def __init__(self, s3_client: Any, bucket: str, client: str):
        self.s3 = s3_client
        self.bucket = bucket
        self.client = client

    def order_prefix(self, order_key: str) -> str:
        return f"orders/{self.client}/{'/'.join(key_part(part) for part in order_key.split('#'))}/"

    def put(self, *, order_key: str | None, kind: str, body: bytes | str | dict[str, Any], now: datetime) -> str:
        """Store and return the key. Without an order key (unparseable input) it goes under unmatched/."""
        if isinstance(body, dict):
            data = json.dumps(body, default=str).encode()
        elif isinstance(body, str):
            data = body.encode("utf-8", "surrogatepass")  # archived as received, even when not valid UTF-8
        else:
            data = body
        kind = key_part(kind)
        stamp = now.strftime("%Y%m%dT%H%M%S.%f")[:-3]
        suffix = uuid.uuid4().hex[:8]
        if order_key:
            key = f"{self.order_prefix(order_key)}{stamp}-{kind}-{suffix}.json"
        else:
            key = f"unmatched/{self.client}/{now:%Y/%m/%d}/{stamp}-{kind}-{suffix}.json"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json")
        return key

    def put_report(self, *, kind: str, body: dict[str, Any], now: datetime) -> str:
        """A dated report (e.g. stock drift): reports/<client>/<kind>/<YYYY-MM-DD>/<HHMMSS>.json."""
        key = f"reports/{self.client}/{kind}/{now:%Y-%m-%d}/{now:%H%M%S}-{uuid.uuid4().hex[:6]}.json"
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=json.dumps(body, default=str).encode(), ContentType="application/json"
        )
        return key

    def list_order(self, order_key: str) -> list[str]:
        keys: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.order_prefix(order_key)):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)

    def get(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body
