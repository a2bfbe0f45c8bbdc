"""Bad input at every inbound edge: never an unhandled exception, never a DLQ loop, always a reason.

Each edge is driven through its real Lambda handler: the two webhook routes with API Gateway proxy
events, and every queue consumer (the topology's QueueTrigger hops) with SQS records. The corpus is
hand cases (deep nesting, lone surrogates, NUL, huge ids, wrong types, odd encodings, bad base64, header
variants, replays, oversize bodies, foreign client or source, absurd figures) plus hypothesis cases.

Expected outcome per case:
- webhooks: 401 and no side effect when unauthenticated; otherwise a 202, the body archived (cut to the
  body bound) and either accepted (one message enqueued) or quarantined with a reason;
- queue consumers: processed, or quarantined with a reason, and never reported as a batch item failure.

`COUNTS` holds cases per edge and outcome; the module prints them when it finishes.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import runtime as runtime_module
from shared import topology
from shared.config import ClientConfig, config_for_client
from shared.models import ReasonCode
from tests.functions.conftest import Harness, running_harness

COUNTS: dict[str, Counter[str]] = defaultdict(Counter)
EXAMPLES = 100
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SECRET = "hook-secret"
HEADER = "X-Hopline-Webhook-Secret"
SALE_GUID = "91ee7b1d-bd35-4e43-b98a-db86be777624"
S3_KEY_BYTES = 1024
DYNAMO_KEY_BYTES = 1024  # the sort key cap (the partition key's is 2,048)


@pytest.fixture(scope="module", autouse=True)
def report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Prints the counts when the module ends (on the terminal; under xdist the worker's output is dropped)."""
    yield
    if not COUNTS:
        return
    lines = ["bad-input corpus, cases per edge and outcome:"] + [
        f"  {edge}: {sum(c.values())} cases; " + ", ".join(f"{k}={v}" for k, v in sorted(c.items()))
        for edge, c in sorted(COUNTS.items())
    ]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        print("\n" + "\n".join(lines))


# -- side effects, recorded while the real stores still run ------------------------------------------------


@dataclass
class Effects:
    archived: list[tuple[str, int]] = field(default_factory=list)  # (key, bytes)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    sent: list[tuple[str, Any]] = field(default_factory=list)
    ledger_writes: list[str] = field(default_factory=list)
    warehouse_orders: int = 0

    def clear(self) -> None:
        self.archived.clear()
        self.quarantined.clear()
        self.sent.clear()
        self.ledger_writes.clear()
        self.warehouse_orders = 0

    @property
    def none(self) -> bool:
        return not (self.archived or self.quarantined or self.sent or self.ledger_writes)


@pytest.fixture(scope="module")
def harness(example_config: ClientConfig) -> Iterator[Harness]:
    """One stack for the whole corpus (cases are judged by the side effects each one makes, not by totals)."""
    with running_harness(example_config) as running:
        yield running


@pytest.fixture
def effects(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Effects:
    rt = harness.rt
    runtime_module.use(rt)
    seen = Effects()

    def spy(target: Any, name: str, record: Callable[..., None]) -> None:
        original = getattr(target, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            record(result, *args, **kwargs)
            return result

        monkeypatch.setattr(target, name, wrapper)

    # Each hop runs with its own runtime (and its own stores and connectors): spy on the classes, so every
    # instance any hop builds is watched.
    from shared.connectors.scend.client import ScendClient
    from shared.runtime import Runtime
    from shared.stores.archive import PayloadArchive
    from shared.stores.exceptions import ExceptionStore
    from shared.stores.ledger import LedgerStore

    spy(PayloadArchive, "put", lambda key, _self, **kw: seen.archived.append((key, len(_bytes(kw["body"])))))
    spy(ExceptionStore, "quarantine", lambda _id, _self, **kw: seen.quarantined.append(kw))
    spy(Runtime, "send", lambda _r, _self, queue, message: seen.sent.append((queue, message)))
    spy(Runtime, "send_batch", lambda _r, _self, queue, messages: seen.sent.extend((queue, m) for m in messages))
    for name in ("record_delivery", "claim_submit", "set_stage", "record_submitted"):
        spy(LedgerStore, name, lambda _r, _self, key, *a, _n=name, **kw: seen.ledger_writes.append(f"{_n}:{key}"))

    def count_order(_r: Any, *a: Any, **kw: Any) -> None:
        seen.warehouse_orders += 1

    spy(ScendClient, "create_order", count_order)
    return seen


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return json.dumps(body, default=str).encode()


# -- the webhook edges ---------------------------------------------------------------------------------------

AUTHENTIC = {"correct", "lower-case name", "upper-case name", "repeated, same value"}
HEADER_VARIANTS = sorted(AUTHENTIC | {"missing", "wrong value", "repeated, one wrong", "no headers", "empty value"})


def api_event(path: str, body: str | None, *, headers: str = "correct", base64_flag: bool = False) -> dict[str, Any]:
    single: dict[str, str] | None
    multi: dict[str, list[str]] | None
    if headers == "correct":
        single, multi = {HEADER: SECRET}, {HEADER: [SECRET]}
    elif headers == "lower-case name":
        single, multi = {HEADER.lower(): SECRET}, {HEADER.lower(): [SECRET]}
    elif headers == "upper-case name":
        single, multi = {HEADER.upper(): SECRET}, {HEADER.upper(): [SECRET]}
    elif headers == "repeated, same value":
        single, multi = {HEADER: SECRET}, {HEADER: [SECRET, SECRET]}
    elif headers == "repeated, one wrong":  # API Gateway keeps the last in `headers`, all in multiValueHeaders
        single, multi = {HEADER: SECRET}, {HEADER: ["guess", SECRET]}
    elif headers == "wrong value":
        single, multi = {HEADER: "guess"}, {HEADER: ["guess"]}
    elif headers == "empty value":
        single, multi = {HEADER: ""}, {HEADER: [""]}
    elif headers == "missing":
        single, multi = {"Content-Type": "application/json"}, {"Content-Type": ["application/json"]}
    else:
        single, multi = None, None
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": base64_flag,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
        },
    }


def call_webhook(
    harness: Harness,
    effects: Effects,
    edge: str,
    body: str | None,
    *,
    headers: str = "correct",
    base64_flag: bool = False,
) -> str:
    """One webhook case through the real handler; asserts its outcome and returns it for the counts."""
    # One receiver serves both channels: the edge names the channel's route.
    hop = "webhook_receiver"
    path = "/webhooks/cin7/sales" if edge == "webhook_receiver" else "/webhooks/cin7/stock"
    effects.clear()
    try:
        response = harness.invoke(hop, api_event(path, body, headers=headers, base64_flag=base64_flag))
    except Exception as error:
        COUNTS[edge]["unhandled_exception"] += 1
        raise AssertionError(f"{edge} raised {type(error).__name__}: {str(error)[:200]}") from error
    status = int(response["statusCode"])
    answer = json.loads(response["body"])
    limit = harness.rt.config.bounds.max_body_bytes
    if headers not in AUTHENTIC:
        assert status == 401, (headers, status)
        assert effects.none, "an unauthenticated request left a side effect"
        outcome = "unauthorised_401"
    else:
        assert status == 202, status
        assert len(effects.archived) == 1, "every authenticated body is archived, once"
        key, size = effects.archived[0]
        assert len(key.encode()) <= S3_KEY_BYTES and size <= limit
        if answer["accepted"]:
            assert not effects.quarantined and (effects.sent or edge == "stock_webhook")  # [] names no SKU
            outcome = "accepted"
        else:
            [quarantine] = effects.quarantined
            assert quarantine["payload_key"] == key and quarantine["reasons"][0].value == answer["reason"]
            assert len(quarantine["business_key"].encode()) <= DYNAMO_KEY_BYTES
            assert not effects.sent
            outcome = f"quarantined:{answer['reason']}"
    COUNTS[edge][outcome] += 1
    return outcome


def sale_body(**fields: Any) -> str:
    payload = {"SaleID": SALE_GUID.upper(), "SaleOrderNumber": "SO-1", "EventType": "Sale/OrderAuthorised"}
    payload.update(fields)
    return json.dumps(payload)


def nested(depth: int) -> str:
    return '{"SaleID":' + "[" * depth + "]" * depth + "}"


# (name, body, headers, base64 flag, expected outcome)
SALE_CASES: list[tuple[str, str | None, str, bool, str]] = [
    ("good", sale_body(), "correct", False, "accepted"),
    ("replay of the same", sale_body(), "correct", False, "accepted"),
    ("voided", sale_body(EventType="Sale/Voided"), "correct", False, "accepted"),
    ("header name lower case", sale_body(), "lower-case name", False, "accepted"),
    ("header repeated, same value", sale_body(), "repeated, same value", False, "accepted"),
    ("header repeated, one wrong", sale_body(), "repeated, one wrong", False, "unauthorised_401"),
    ("header missing", sale_body(), "missing", False, "unauthorised_401"),
    ("no headers at all", sale_body(), "no headers", False, "unauthorised_401"),
    ("header empty", sale_body(), "empty value", False, "unauthorised_401"),
    ("deep nesting, 1,000", nested(1000), "correct", False, "quarantined:payload_invalid"),
    ("deep nesting, 100,000", nested(100_000), "correct", False, "quarantined:payload_invalid"),
    ("lone surrogate in SaleID", sale_body(SaleID="\ud800"), "correct", False, "quarantined:id_malformed"),
    (
        "lone surrogate in order number",
        sale_body(SaleOrderNumber="SO-\udfff"),
        "correct",
        False,
        "quarantined:id_malformed",
    ),
    ("lone surrogate raw in body", '{"SaleID": "\ud800"}', "correct", False, "quarantined:payload_invalid"),
    ("NUL in SaleID", sale_body(SaleID=SALE_GUID[:-1] + "\x00"), "correct", False, "quarantined:id_malformed"),
    ("NUL in body", "\x00" * 10, "correct", False, "quarantined:payload_invalid"),
    ("SaleID of 200,000 characters", sale_body(SaleID="A" * 200_000), "correct", False, "quarantined:id_malformed"),
    ("SaleID of 300,000 characters", sale_body(SaleID="A" * 300_000), "correct", False, "quarantined:body_too_large"),
    ("SaleID not a GUID", sale_body(SaleID="../../etc/passwd"), "correct", False, "quarantined:id_malformed"),
    ("SaleID a number", sale_body(SaleID=42), "correct", False, "quarantined:payload_invalid"),
    ("SaleID a list", sale_body(SaleID=[SALE_GUID]), "correct", False, "quarantined:payload_invalid"),
    ("SaleID an object", sale_body(SaleID={"a": 1}), "correct", False, "quarantined:payload_invalid"),
    (
        "two SaleIDs",
        f'{{"SaleID": "{SALE_GUID}", "SaleID": "{uuid.UUID(int=5)}"}}',
        "correct",
        False,
        "quarantined:payload_invalid",
    ),
    (
        "order number 10,000 characters",
        sale_body(SaleOrderNumber="9" * 10_000),
        "correct",
        False,
        "quarantined:id_malformed",
    ),
    ("array body", "[1, 2]", "correct", False, "quarantined:payload_invalid"),
    ("empty body", "", "correct", False, "quarantined:payload_invalid"),
    ("no body", None, "correct", False, "quarantined:payload_invalid"),
    (
        "UTF-16 body, base64",
        base64.b64encode(sale_body().encode("utf-16")).decode(),
        "correct",
        True,
        "quarantined:payload_invalid",
    ),
    (
        "Latin-1 body, base64",
        base64.b64encode('{"SaleID": "caf\xe9"}'.encode("latin-1")).decode(),
        "correct",
        True,
        "quarantined:payload_invalid",
    ),
    ("good body, base64", base64.b64encode(sale_body().encode()).decode(), "correct", True, "accepted"),
    ("base64 flag, not base64", "{not base64!}", "correct", True, "quarantined:payload_invalid"),
    ("base64 flag, non-ASCII", "é" * 12, "correct", True, "quarantined:payload_invalid"),
    ("base64 flag, bad padding", "abc", "correct", True, "quarantined:payload_invalid"),
    ("oversize body", sale_body(Padding="x" * 300_000), "correct", False, "quarantined:body_too_large"),
    ("oversize body, base64", base64.b64encode(b"x" * 400_000).decode(), "correct", True, "quarantined:body_too_large"),
    ("oversize and unauthenticated", sale_body(Padding="x" * 300_000), "wrong value", False, "unauthorised_401"),
]

STOCK_CASES: list[tuple[str, str | None, str, bool, str]] = [
    ("good", json.dumps([{"SKU": "TEE-BLK-M", "Available": 3}]), "correct", False, "accepted"),
    ("replay of the same", json.dumps([{"SKU": "TEE-BLK-M", "Available": 3}]), "correct", False, "accepted"),
    ("header repeated, one wrong", "[]", "repeated, one wrong", False, "unauthorised_401"),
    ("header missing", "[]", "missing", False, "unauthorised_401"),
    ("deep nesting", "[" * 5000 + "]" * 5000, "correct", False, "quarantined:payload_invalid"),
    ("lone surrogate SKU", json.dumps([{"SKU": "TEE-\ud800"}]), "correct", False, "quarantined:sku_invalid"),
    ("NUL in SKU", json.dumps([{"SKU": "TEE\x00"}]), "correct", False, "quarantined:sku_invalid"),
    ("SKU of 300,000 characters", json.dumps([{"SKU": "S" * 300_000}]), "correct", False, "quarantined:body_too_large"),
    ("SKU of 5,000 characters", json.dumps([{"SKU": "S" * 5_000}]), "correct", False, "quarantined:sku_invalid"),
    ("blank SKU", json.dumps([{"SKU": "  "}]), "correct", False, "quarantined:sku_blank"),
    ("SKU a number", json.dumps([{"SKU": 7}]), "correct", False, "quarantined:payload_invalid"),
    (
        "2,000 rows",
        json.dumps([{"SKU": f"S{i}"} for i in range(2_000)]),
        "correct",
        False,
        "quarantined:too_many_lines",
    ),
    ("object body", '{"a": 1}', "correct", False, "quarantined:payload_invalid"),
    ("base64 flag, bad data", "%%%", "correct", True, "quarantined:payload_invalid"),
    (
        "non-UTF-8, base64",
        base64.b64encode(b'[{"SKU": "\xff"}]').decode(),
        "correct",
        True,
        "quarantined:payload_invalid",
    ),
]


@pytest.mark.parametrize(("edge", "cases"), [("webhook_receiver", SALE_CASES), ("stock_webhook", STOCK_CASES)])
def test_webhook_hand_cases(
    harness: Harness, effects: Effects, edge: str, cases: list[tuple[str, str | None, str, bool, str]]
) -> None:
    # Given each hand-made bad (or good) request / When it reaches the real handler / Then the expected outcome
    outcomes = {
        name: call_webhook(harness, effects, edge, body, headers=headers, base64_flag=flag)
        for name, body, headers, flag, _ in cases
    }
    assert outcomes == {name: expected for name, _b, _h, _f, expected in cases}


def test_a_sale_webhook_id_builds_a_short_archive_key_and_the_message_carries_it(
    harness: Harness, effects: Effects
) -> None:
    assert call_webhook(harness, effects, "webhook_receiver", sale_body()) == "accepted"
    [(key, _size)] = effects.archived
    assert key.startswith(f"orders/{harness.rt.config.client}/cin7_core/{SALE_GUID}/")
    [(queue, message)] = effects.sent
    assert queue == "order-intake" and message.archive_key == key and message.source_id == SALE_GUID


def test_an_oversize_body_is_archived_cut_to_the_bound(harness: Harness, effects: Effects) -> None:
    body = sale_body(Padding="x" * 300_000)
    assert call_webhook(harness, effects, "webhook_receiver", body) == "quarantined:body_too_large"
    [(key, size)] = effects.archived
    assert size == harness.rt.config.bounds.max_body_bytes
    assert harness.rt.archive.get(key) == body.encode()[:size]


_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=10,
)
_IDS = st.one_of(
    st.just(SALE_GUID),
    st.just(SALE_GUID.upper()),
    st.uuids().map(str),
    _JSON,
    st.text(st.characters(exclude_categories=()), min_size=60, max_size=400),
)


@st.composite
def webhook_request(draw: st.DrawFn, *, stock: bool) -> tuple[str | None, str, bool]:
    if stock:
        body = draw(
            st.one_of(
                st.lists(st.fixed_dictionaries({"SKU": _IDS | _TEXT}, optional={"Available": _JSON}), max_size=5).map(
                    json.dumps
                ),
                _JSON.map(json.dumps),
                _TEXT,
                st.integers(1, 3000).map(lambda d: "[" * d + "]" * d),
            )
        )
    else:
        body = draw(
            st.one_of(
                st.fixed_dictionaries(
                    {"SaleID": _IDS},
                    optional={
                        "SaleOrderNumber": _JSON | _TEXT,
                        "EventType": st.sampled_from(["Sale/OrderAuthorised", "Sale/Voided"]) | _JSON,
                        "Extra": _JSON,
                    },
                ).map(json.dumps),
                _JSON.map(json.dumps),
                _TEXT,
                st.integers(1, 3000).map(nested),
                st.none(),
            )
        )
    headers = draw(st.sampled_from(HEADER_VARIANTS))
    flag = draw(st.booleans())
    if flag and body is not None and draw(st.booleans()):
        body = base64.b64encode(body.encode("utf-8", draw(st.sampled_from(["surrogatepass", "replace"])))).decode()
    return body, headers, flag


@given(request=webhook_request(stock=False))
@HYPOTHESIS
def test_sale_webhook_never_crashes(harness: Harness, effects: Effects, request: tuple[str | None, str, bool]) -> None:
    body, headers, flag = request
    outcome = call_webhook(harness, effects, "webhook_receiver", body, headers=headers, base64_flag=flag)
    # Refused without a trace when unauthenticated, else accepted or quarantined with a reason
    expected = "unauthorised_401" if headers not in AUTHENTIC else None
    assert outcome == expected or (
        expected is None and (outcome == "accepted" or outcome.removeprefix("quarantined:") in REASONS)
    )


@given(request=webhook_request(stock=True))
@settings(HYPOTHESIS, max_examples=EXAMPLES // 2)
def test_stock_webhook_never_crashes(harness: Harness, effects: Effects, request: tuple[str | None, str, bool]) -> None:
    body, headers, flag = request
    outcome = call_webhook(harness, effects, "stock_webhook", body, headers=headers, base64_flag=flag)
    expected = "unauthorised_401" if headers not in AUTHENTIC else None
    assert outcome == expected or (
        expected is None and (outcome == "accepted" or outcome.removeprefix("quarantined:") in REASONS)
    )


# -- the queue consumers -------------------------------------------------------------------------------------

REASONS = {reason.value for reason in ReasonCode}
# The consumers the example client (this harness) deploys; a platform's own messages (order-messages) are
# driven in test_order_messages.
QUEUE_HOPS = {
    h.trigger.queue: h.name
    for h in topology.for_config(config_for_client("example-cin7-scend")).hops
    if isinstance(h.trigger, topology.QueueTrigger) and h.pipeline != topology.SUBSCRIPTIONS
}
NOW = "2026-01-05T10:00:00+00:00"


def order(**changes: Any) -> dict[str, Any]:
    line = {"sku": "TEE-BLK-M", "quantity": "2", "unit_price": "12.50"}
    line.update(changes.pop("line", {}))
    base = {
        "source": "cin7_core",
        "source_id": SALE_GUID,
        "order_number": "SO-1",
        "status": "ORDERED",
        "authorised": True,
        "delivery_service": "Standard",
        "lines": [line],
        "shipping_address": {
            "name": "Jo Smith",
            "line1": "1 High Street",
            "city": "Leeds",
            "postcode": "LS1 1AA",
            "country": "GB",
        },
    }
    base.update(changes)
    return base


def valid_message(queue: str, client: str) -> dict[str, Any]:
    return {
        "order-intake": {"client": client, "source": "cin7_core", "source_id": SALE_GUID, "trigger": "webhook"},
        "order-submit": {
            "client": client,
            "source": "cin7_core",
            "source_id": SALE_GUID,
            "client_reference": "EX-SO-1",
            "courier_service": "RM48",
            "order": order(),
        },
        "shipment-writeback": {
            "client": client,
            "trigger": "poll",
            "shipment": {
                "warehouse": "scend",
                "parcel_id": "9001",
                "warehouse_order_id": "9001",
                "client_reference": "EX-SO-1",
                "despatched_at": NOW,
                "updated_at": NOW,
                "lines": [{"sku": "TEE-BLK-M", "quantity": "1"}],
            },
        },
        "product-sync": {
            "client": client,
            "trigger": "poll",
            "product": {
                "source": "cin7_core",
                "source_id": str(uuid.UUID(int=7)),
                "sku": "NEW-SKU-1",
                "name": "New",
                "updated_at": NOW,
            },
        },
        "stock-sync": {"client": client, "trigger": "event", "skus": ["TEE-BLK-M"], "read_at": NOW},
        "cancel-requests": {
            "client": client,
            "source": "cin7_core",
            "source_id": SALE_GUID,
            "requested_at": NOW,
            "trigger": "webhook",
        },
    }[queue]


def call_consumer(harness: Harness, effects: Effects, queue: str, body: str) -> str:
    """One record through the queue's real consumer; asserts it is not retried, returns its outcome."""
    edge = QUEUE_HOPS[queue]
    effects.clear()
    try:
        response = harness.invoke(edge, harness.sqs_event(body))
    except Exception as error:
        COUNTS[edge]["unhandled_exception"] += 1
        raise AssertionError(f"{edge} raised {type(error).__name__}: {str(error)[:300]}") from error
    if response.get("batchItemFailures"):
        COUNTS[edge]["batch_item_failure"] += 1
        raise AssertionError(f"{edge} reported the record as failed (it would loop into the DLQ)")
    for quarantine in effects.quarantined:
        assert len(quarantine["business_key"].encode()) <= DYNAMO_KEY_BYTES
    for key, _size in effects.archived:
        assert len(key.encode()) <= S3_KEY_BYTES
    outcome = f"quarantined:{effects.quarantined[0]['reasons'][0].value}" if effects.quarantined else "processed"
    COUNTS[edge][outcome] += 1
    return outcome


def with_change(queue: str, client: str, path: tuple[str | int, ...], value: Any) -> str:
    message = valid_message(queue, client)
    target: Any = message
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return json.dumps(message)


FOREIGN = [("client", "another-brand"), ("client", "🙂"), ("source", "🙂"), ("source", "shopify")]


@pytest.mark.parametrize("queue", sorted(QUEUE_HOPS))
def test_queue_hand_cases(harness: Harness, effects: Effects, queue: str) -> None:
    client = harness.rt.config.client
    malformed = {
        "not JSON": "{not json",
        "empty": "",
        "array": "[]",
        "NUL": "\x00",
        "deep nesting": nested(1000),
        "deep nesting, 100,000": "[" * 100_000,
        "lone surrogate raw": '{"client": "\ud800"}',
        "lone surrogate escaped": json.dumps({**valid_message(queue, client), "client": "\ud800"}),
        "wrong type for client": with_change(queue, client, ("client",), 42),
        "unknown field": json.dumps({**valid_message(queue, client), "unexpected": True}),
        "client of 300,000 characters": with_change(queue, client, ("client",), "c" * 300_000),
        "1 MB of padding": json.dumps({**valid_message(queue, client), "unexpected": "x" * 1_000_000}),
    }
    for name, body in malformed.items():
        assert call_consumer(harness, effects, queue, body) in (
            "quarantined:payload_invalid",
            "quarantined:id_malformed",
        ), name
        assert not effects.ledger_writes and not effects.sent, name
    # A message for another client or source is never this stack's to act on
    fields = valid_message(queue, client)
    for name, value in FOREIGN:
        path: tuple[str, ...] = (name,) if name in fields else ("product", name) if queue == "product-sync" else ()
        if name == "source" and queue == "shipment-writeback":
            path = ("shipment", "warehouse")
        if not path:
            continue
        assert (
            call_consumer(harness, effects, queue, with_change(queue, client, path, value))
            == "quarantined:message_not_served"
        ), (name, value)
        assert not effects.ledger_writes and not effects.sent and effects.warehouse_orders == 0


def test_a_foreign_source_opens_no_ledger_entry_or_idempotency_key(harness: Harness, effects: Effects) -> None:
    client = harness.rt.config.client
    sale_id = harness.add_sale("SO-5").lower()  # a real sale: only the source field is wrong
    for queue in ("order-intake", "order-submit"):
        message = valid_message(queue, client) | {"source": "🙂", "source_id": sale_id}
        if queue == "order-submit":
            message["order"] = order(source_id=sale_id)
        assert call_consumer(harness, effects, queue, json.dumps(message)) == "quarantined:message_not_served"
    assert harness.rt.ledger.get(f"🙂#{sale_id}") is None
    assert harness.rt.ledger.get(f"cin7_core#{sale_id}") is None
    assert effects.warehouse_orders == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"line": {"quantity": "1E+200"}}, "quantity_out_of_bounds"),
        ({"line": {"quantity": "1E+18"}}, "quantity_out_of_bounds"),
        ({"line": {"quantity": "100001"}}, "quantity_out_of_bounds"),
        ({"line": {"unit_price": "1E+40"}}, "price_out_of_bounds"),
        ({"line": {"sku": ""}}, "sku_blank"),
        ({"line": {"sku": "S" * 300}}, "id_malformed"),
        ({"source_id": "A" * 300_000}, "id_malformed"),
        ({"lines": [{"sku": f"S{i}", "quantity": "1"} for i in range(501)]}, "too_many_lines"),
    ],
)
def test_an_out_of_bounds_submit_never_reaches_the_warehouse(
    harness: Harness, effects: Effects, change: dict[str, Any], reason: str
) -> None:
    client = harness.rt.config.client
    body = with_change("order-submit", client, ("order",), order(**change))
    assert call_consumer(harness, effects, "order-submit", body) == f"quarantined:{reason}"
    assert effects.warehouse_orders == 0 and not effects.ledger_writes


_BREAKING = st.one_of(
    _JSON,
    st.sampled_from(
        [
            "",
            " ",
            "\ud800",
            "a\x00b",
            "🙂",
            "x" * 5000,
            10**200,
            -1,
            1e308,
            "1E+200",
            [],
            {},
            "another-brand",
            "replay",
            "NaN",
            "Infinity",
        ]
    ),
)


@st.composite
def consumer_record(draw: st.DrawFn, queue: str, client: str) -> str:
    kind = draw(st.sampled_from(["field", "field", "field", "drop", "body"]))
    message = valid_message(queue, client)
    if kind == "body":
        return draw(st.one_of(_TEXT, _JSON.map(json.dumps), st.integers(1, 3000).map(lambda d: "[" * d)))
    paths: list[tuple[str | int, ...]] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                paths.append((*path, key))
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                paths.append((*path, index))
                walk(item, (*path, index))

    walk(message, ())
    path = draw(st.sampled_from(paths))
    target: Any = message
    for part in path[:-1]:
        target = target[part]
    if kind == "drop":
        del target[path[-1]]
    else:
        target[path[-1]] = draw(_BREAKING)
    return json.dumps(message)


@pytest.mark.parametrize("queue", sorted(QUEUE_HOPS))
@given(data=st.data())
@settings(HYPOTHESIS, max_examples=40)
def test_queue_consumers_never_crash_or_retry_bad_records(
    harness: Harness, effects: Effects, queue: str, data: st.DataObject
) -> None:
    body = data.draw(consumer_record(queue, harness.rt.config.client))
    outcome = call_consumer(harness, effects, queue, body)
    # Processed (a change the message still allows) or quarantined with a reason the inbox knows
    assert outcome == "processed" or outcome.removeprefix("quarantined:") in REASONS, (queue, body[:200], outcome)


# -- bounds on a sale read from the source (order intake) -----------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ({"Quantity": 10**200}, "quantity_out_of_bounds"),
        ({"Quantity": 10**18, "Total": 125 * 10**17}, "quantity_out_of_bounds"),
        ({"Quantity": 10**40}, "quantity_out_of_bounds"),
        ({"Price": 1e40}, "price_out_of_bounds"),
        ({"Price": 2_000_000, "Total": 4_000_000}, "price_out_of_bounds"),
        ({"Quantity": "1E-1000000"}, "quantity_out_of_bounds"),
        ({"SKU": ""}, "sku_blank"),
        ({"SKU": "   "}, "sku_blank"),
    ],
)
def test_an_out_of_bounds_sale_is_quarantined_before_any_store_or_warehouse_write(
    harness: Harness, effects: Effects, line: dict[str, Any], reason: str
) -> None:
    # Given a sale at Cin7 Core whose first line breaks a bound
    sale_id = harness.add_sale("SO-9").lower()
    with harness.cin7.lock:
        harness.cin7._sales[harness.cin7._key(sale_id)]["Order"]["Lines"][0].update(line)
    assert_quarantined_at_intake(harness, effects, sale_id, reason)


def test_a_sale_with_too_many_lines_is_quarantined_at_intake(harness: Harness, effects: Effects) -> None:
    from decimal import Decimal

    sale_id = harness.add_sale("SO-8", lines=[(f"S{i}", 1, Decimal(1)) for i in range(501)]).lower()
    assert_quarantined_at_intake(harness, effects, sale_id, "too_many_lines")


def assert_quarantined_at_intake(harness: Harness, effects: Effects, sale_id: str, reason: str) -> None:
    client = harness.rt.config.client
    body = json.dumps({"client": client, "source": "cin7_core", "source_id": sale_id, "trigger": "webhook"})
    # When intake takes it in / Then it is quarantined with its reason: nothing for the warehouse or a DLQ
    assert call_consumer(harness, effects, "order-intake", body) == f"quarantined:{reason}"
    assert effects.warehouse_orders == 0
    assert not [queue for queue, _message in effects.sent if queue == "order-submit"]
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id}")
    assert entry is not None and entry.stage == "quarantined" and not entry.ordered
    assert harness.local.dlq_messages() == {name: [] for name in harness.local.dlq_urls}
