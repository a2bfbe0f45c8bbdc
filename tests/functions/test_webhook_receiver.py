"""webhook_receiver: authenticate, archive, enqueue; reject and quarantine without losing anything."""

from __future__ import annotations

import boto3

from tests.functions.conftest import Harness


def archived_keys(harness: Harness) -> list[str]:
    bucket = harness.rt.archive.bucket
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_wrong_secret_is_rejected_with_no_side_effect(harness: Harness) -> None:
    # Given a sale and a webhook with the wrong shared secret
    sale_id = harness.add_sale()
    # When it arrives
    status, body = harness.webhook(sale_id, secret="guess")
    # Then 401, nothing archived, nothing enqueued, no platform call
    assert status == 401
    assert body == {"error": "unauthorised"}
    assert archived_keys(harness) == []
    assert harness.queue_bodies("order-intake") == []
    assert sum(harness.cin7.requests.values()) == 0


def test_authentic_webhook_is_archived_and_enqueued_without_platform_calls(harness: Harness) -> None:
    sale_id = harness.add_sale("SO-77")
    status, body = harness.webhook(sale_id)
    assert status == 202
    assert body == {"accepted": True, "messages": 1}
    [message] = harness.queue_bodies("order-intake")
    assert message["source_id"] == sale_id.lower()
    assert message["trigger"] == "webhook"
    assert message["order_number"] == "SO-77"
    keys = archived_keys(harness)
    assert len(keys) == 1
    assert keys[0].startswith(f"orders/example-cin7-scend/cin7_core/{sale_id.lower()}/")
    assert message["archive_key"] == keys[0]
    assert sum(harness.cin7.requests.values()) == 0


def test_malformed_payload_is_quarantined_and_acknowledged(harness: Harness) -> None:
    # Given an authenticated webhook whose body has no SaleID
    status, body = harness.webhook("", body='{"EventType": "Sale/OrderAuthorised"}')
    # Then it is acknowledged (so Cin7 keeps the hook active) but not accepted, and quarantined
    assert status == 202
    assert body == {"accepted": False, "reason": "payload_invalid"}
    assert harness.queue_bodies("order-intake") == []
    [exception] = harness.rt.exceptions.list()
    assert exception.reason.value == "payload_invalid"
    assert exception.team.value == "operations"
    assert exception.payload_key is not None
    assert harness.rt.archive.get(exception.payload_key) == b'{"EventType": "Sale/OrderAuthorised"}'


def test_a_path_no_configured_channel_serves_is_answered_404_with_no_side_effect(harness: Harness) -> None:
    # Given the receiver's one function and an authentic request on paths the client's config does not route
    header = harness.local.config.platforms["cin7"].webhook_header  # type: ignore[attr-defined]
    for path in ("/webhooks/cin7/refunds", "/webhooks/scend/sales", "/webhooks/elsewhere/stock"):
        event = {
            "resource": path,
            "path": path,
            "httpMethod": "POST",
            "headers": {header: "hook-secret"},
            "multiValueHeaders": {header: ["hook-secret"]},
            "pathParameters": None,
            "requestContext": {"resourcePath": path, "httpMethod": "POST", "stage": "live"},
            "body": "{}",
            "isBase64Encoded": False,
        }
        # When it reaches the handler (API Gateway holds no such resource; the handler refuses it as well)
        response = harness.invoke("webhook_receiver", event)
        # Then 404, and nothing is read, archived or enqueued
        assert response["statusCode"] == 404, path
    assert archived_keys(harness) == []
    assert harness.queue_bodies("order-intake") == [] and harness.queue_bodies("stock-sync") == []
    assert harness.rt.exceptions.list() == []


def test_each_channel_is_served_at_its_own_route_by_the_one_receiver(harness: Harness) -> None:
    # Given the routes the topology derives for the example client
    deployed = harness.local.deployed
    assert [r.path for r in deployed.routes] == ["/webhooks/cin7/sales", "/webhooks/cin7/stock"]
    # When a stock event arrives at the stock route
    header = harness.local.config.platforms["cin7"].webhook_header  # type: ignore[attr-defined]
    status, body = harness.local.call_api(
        "POST", "/webhooks/cin7/stock", headers={header: "hook-secret"}, body='[{"SKU": "TEE-BLK-M"}]'
    )
    # Then the receiver read it as a stock event: its SKU waits for a fresh read, nothing went to intake
    assert (status, body) == (202, {"accepted": True, "messages": 1})
    [message] = harness.queue_bodies("stock-sync")
    assert message["skus"] == ["TEE-BLK-M"]
    assert harness.queue_bodies("order-intake") == []
