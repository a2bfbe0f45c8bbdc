"""What the vendor mock cannot be made to do on demand: throttling, server errors, a lost create race.
Scripted over an httpx mock transport; the URLs are the production ones the endpoint table lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.commercetools import CommercetoolsClient, CommercetoolsCredentials, CommercetoolsSettings
from shared.connectors.commercetools.client import ConflictError
from shared.errors import PermanentError
from shared.models import ReasonCode

SETTINGS = CommercetoolsSettings(project_key="acme-prod", credentials_secret="ct/acme", supply_channels={"WH1": "ch-1"})
ENTRY = {
    "id": "inv-1",
    "version": 4,
    "sku": "SKU-1",
    "supplyChannel": {"typeId": "channel", "id": "ch-1"},
    "quantityOnStock": 6,
    "availableQuantity": 5,
}


def client_over(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[CommercetoolsClient, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            assert request.headers["Authorization"].startswith("Basic ")
            assert b"grant_type=client_credentials" in request.content
            return httpx.Response(200, json={"access_token": "t", "expires_in": 172800, "token_type": "Bearer"})
        seen.append(f"{request.method} {request.url.path}")
        return answer(request)

    client = CommercetoolsClient(
        SETTINGS,
        CommercetoolsCredentials(client_id="id", client_secret="secret"),
        retry=RetryConfig(max_attempts=3, base_delay_seconds=1, max_delay_seconds=5),
        clock=VirtualClock(),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    return client, seen


def scripted(*responses: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)
    return lambda _request: queue.pop(0)


def test_throttling_and_unavailability_are_retried_honouring_retry_after() -> None:
    client, seen = client_over(
        scripted(
            httpx.Response(429, headers={"Retry-After": "3"}, json={"statusCode": 429}),
            httpx.Response(503, json={"statusCode": 503}),
            httpx.Response(200, json={"results": [ENTRY]}),
        )
    )
    entry = client.inventory_entry("SKU-1", "WH1")
    assert entry is not None and entry.id == "inv-1"
    assert len(seen) == 3 and client.stats.retries == 2 and client.stats.throttled == 1
    assert isinstance(client.clock, VirtualClock) and client.clock.slept >= 3


def test_a_refused_update_is_permanent_with_the_platform_s_message() -> None:
    client, _ = client_over(
        scripted(
            httpx.Response(200, json={"results": [ENTRY]}),
            httpx.Response(400, json={"statusCode": 400, "errors": [{"code": "InvalidOperation", "message": "nope"}]}),
        )
    )
    with pytest.raises(PermanentError) as refused:
        client.set_stock("SKU-1", "WH1", lambda _decision: 9)
    assert refused.value.reason is ReasonCode.SOURCE_REJECTED and "InvalidOperation" in refused.value.detail


def test_losing_the_create_race_re_reads_and_updates_the_entry_the_other_writer_made() -> None:
    bodies: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            bodies.append(json.loads(request.content))
        match (request.method, request.url.path, len(bodies)):
            case ("GET", "/acme-prod/inventory", 0):
                return httpx.Response(200, json={"results": []})
            case ("POST", "/acme-prod/inventory", _):
                return httpx.Response(
                    400,
                    json={
                        "statusCode": 400,
                        "errors": [
                            {"code": "DuplicateField", "field": "sku", "message": "duplicate (sku, supplyChannel)"}
                        ],
                    },
                )
            case ("GET", "/acme-prod/inventory", _):
                return httpx.Response(200, json={"results": [ENTRY]})
            case ("POST", "/acme-prod/inventory/inv-1", _):
                return httpx.Response(200, json={**ENTRY, "version": 5, "quantityOnStock": 9})
        raise AssertionError(request.url)

    client, seen = client_over(answer)
    result = client.set_stock("SKU-1", "WH1", lambda _decision: 9)
    assert result is not None and result.quantityOnStock == 9
    assert seen == [
        "GET /acme-prod/inventory",
        "POST /acme-prod/inventory",
        "GET /acme-prod/inventory",
        "POST /acme-prod/inventory/inv-1",
    ]
    assert bodies[1] == {"version": 4, "actions": [{"action": "changeQuantity", "quantity": 9}]}


def test_a_conflict_that_never_settles_is_transient_after_the_configured_re_reads() -> None:
    conflict = httpx.Response(
        409, json={"statusCode": 409, "errors": [{"code": "ConcurrentModification", "currentVersion": 99}]}
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"results": [ENTRY]} if request.url.path.endswith("inventory") else ENTRY)
        return conflict

    client, seen = client_over(answer)
    with pytest.raises(ConflictError):
        client.set_stock("SKU-1", "WH1", lambda _decision: 9)
    assert seen.count("POST /acme-prod/inventory/inv-1") == SETTINGS.max_conflict_retries


def test_calls_are_paced_by_the_configured_allowance() -> None:
    # Given an allowance of 6 calls a minute (a burst of 1), when the client makes 3 calls with its token
    settings = SETTINGS.model_copy(update={"calls_per_minute": 6})
    clock = VirtualClock()
    client = CommercetoolsClient(
        settings,
        CommercetoolsCredentials(client_id="id", client_secret="secret"),
        retry=RetryConfig(max_attempts=1),
        clock=clock,
        http=httpx.Client(
            transport=httpx.MockTransport(
                lambda request: httpx.Response(
                    200,
                    json={"access_token": "t", "expires_in": 172800}
                    if request.url.path == "/oauth/token"
                    else {"results": []},
                )
            )
        ),
    )
    for _ in range(2):
        client.inventory_entry("SKU-1", "WH1")
    # Then, of the 3 calls (the token and two reads), the second and third waited 10 s each on its clock
    assert client.stats.calls == 3 and clock.slept == pytest.approx(20, abs=0.01)
