"""The one webhook receiver's step: `POST /webhooks/{instance}/{channel}` for every platform's inbound channels.

Each channel (declared by its connector's spec) says how to prove origin and how to read a body; this step
does the rest the same way for all of them: a refusal of origin is a 401 with no side effect; anything
authenticated is archived before it is parsed (cut to the body bound), then either enqueued or quarantined
with its reason and answered 2xx, because platforms disable a hook that keeps failing.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from shared import topology
from shared.connectors.spec import ChannelContext, WebhookChannel
from shared.errors import PermanentError
from shared.models import ReasonCode, owner_of
from shared.runtime import Runtime
from shared.steps.records import storable

if TYPE_CHECKING:
    from shared.config import BoundsConfig

logger = Logger(child=True)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    metric: str


def channel_for(rt: Runtime, instance: str, channel: str) -> WebhookChannel | None:
    """The channel served at /webhooks/{instance}/{channel} for this client: one the topology routes (its
    platform plays one of the channel's roles in a configured pipeline and names its secret)."""
    return next((c for name, c in topology.webhook_channels(rt.config) if (name, c.name) == (instance, channel)), None)


def receive(
    rt: Runtime,
    instance: str,
    channel_name: str,
    *,
    headers: Mapping[str, str] | None,
    multi_value_headers: Mapping[str, list[str]] | None,
    body: Any,
    is_base64: bool,
) -> Answer:
    channel = channel_for(rt, instance, channel_name)
    if channel is None:
        return Answer(404, {"error": "no such webhook"}, "WebhookUnknown")
    settings = rt.config.platforms[instance]
    # The receiver is granted each routed channel's secret by its platform instance.
    secret = rt.secret(topology.webhook_secret_path(instance, channel))["secret"]
    if not channel.verify(headers or {}, multi_value_headers, secret, settings):
        logger.warning(
            "webhook rejected: missing or wrong credentials", extra={"platform": instance, "channel": channel.name}
        )
        return Answer(401, {"error": "unauthorised"}, "WebhookUnauthorised")
    now = rt.clock.now()
    bounds = rt.config.bounds
    raw, unreadable = read_body(body, is_base64, bounds)
    # Archived before it is parsed, whatever it holds: under its record when the body names a well-formed id.
    record_id = channel.archive_id(raw, bounds) if unreadable is None else None
    archive_key = rt.archive.put(
        order_key=f"{settings.type}#{record_id}" if record_id else None,
        kind=channel.archive_kind if record_id else f"{channel.archive_kind}-unparsed",
        body=raw,
        now=now,
    )
    context = ChannelContext(
        client=rt.config.client,
        platform_type=settings.type,
        bounds=bounds,
        now=now,
        archive_key=archive_key,
        config=rt.config,
        platform=instance,
    )
    try:
        if unreadable is not None:
            raise unreadable
        deliveries = channel.parse(raw, context)
    except PermanentError as error:
        from shared.stores.exceptions import PayloadReplay  # the inbox's models, loaded when one is quarantined

        rt.exceptions.quarantine(
            flow=channel.flow,
            business_key=archive_key,
            reasons=[error.reason],
            team=owner_of(error.reason),
            detail=storable(error.detail),
            now=now,
            payload_key=archive_key,
            replay_queue=channel.replay_queue,
            replay_payload=PayloadReplay(channel.replay_payload) if channel.replay_payload else None,
        )
        logger.warning(
            "webhook quarantined",
            extra={
                "platform": instance,
                "channel": channel.name,
                "reason_code": error.reason.value,
                "archive_key": archive_key,
            },
        )
        return Answer(202, {"accepted": False, "reason": error.reason.value}, "WebhookQuarantined")
    by_queue: dict[str, list[Any]] = {}
    for delivery in deliveries:
        by_queue.setdefault(delivery.queue, []).append(delivery.message)
    for queue, messages in by_queue.items():
        rt.send_batch(queue, messages)
    return Answer(202, {"accepted": True, "messages": len(deliveries)}, "WebhookAccepted")


def read_body(body: Any, is_base64: bool, bounds: BoundsConfig) -> tuple[bytes, PermanentError | None]:
    """The request body as bytes, and why it cannot be read (too large, bad base64), without raising.

    The bytes come back even when unreadable, cut to `bounds.max_body_bytes`, so they can be archived.
    """
    limit = bounds.max_body_bytes
    if body is None:
        return b"", None
    if not isinstance(body, str):
        return b"", PermanentError(ReasonCode.PAYLOAD_INVALID, f"webhook: body is a {type(body).__name__}, not text")
    if is_base64:
        if len(body) > (limit * 4) // 3 + 4:
            return _text_bytes(body)[:limit], _too_large(limit)
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return _text_bytes(body)[:limit], PermanentError(
                ReasonCode.PAYLOAD_INVALID, "webhook: body is flagged base64 but does not decode"
            )
    else:
        if len(body) > limit:
            return _text_bytes(body[:limit])[:limit], _too_large(limit)
        data = _text_bytes(body)
    if len(data) > limit:
        return data[:limit], _too_large(limit)
    return data, None


def _text_bytes(text: str) -> bytes:
    """Text as received, as bytes; lone surrogates are kept (escaped JSON may carry them) for the archive."""
    return text.encode("utf-8", "surrogatepass")


def _too_large(limit: int) -> PermanentError:
    return PermanentError(ReasonCode.BODY_TOO_LARGE, f"webhook: body is over {limit} bytes")


def answer_json(answer: Answer) -> str:
    import json

    return json.dumps(answer.body, separators=(",", ":"))
