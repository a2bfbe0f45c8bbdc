"""Subscription messages off the queue: the envelope, the project check, de-duplication and version order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.connectors.commercetools import MemoryLedger, Verdict, parse_message, verdict
from shared.connectors.commercetools.messages import WrongProjectError, cancel_request, may_release
from shared.connectors.commercetools.settings import CommercetoolsSettings, ReleaseTrigger
from shared.errors import PermanentError
from shared.models import ReasonCode

SETTINGS = CommercetoolsSettings(project_key="acme-prod", credentials_secret="ct/acme")


def envelope(**changes: Any) -> dict[str, Any]:
    """The card's §7 example: OrderPaymentStateChanged on SQS, in the documented envelope."""
    message: dict[str, Any] = {
        "notificationType": "Message",
        "projectKey": "acme-prod",
        "id": "6c1e0b5e-msg-1",
        "version": 1,
        "sequenceNumber": 4,
        "resource": {"typeId": "order", "id": "9f2a-order"},
        "resourceVersion": 7,
        "resourceUserProvidedIdentifiers": {"orderNumber": "A-10042"},
        "type": "OrderPaymentStateChanged",
        "paymentState": "Paid",
        "oldPaymentState": "Pending",
        "createdAt": "2025-03-01T10:00:00.000Z",
        "lastModifiedAt": "2025-03-01T10:00:00.000Z",
    }
    message.update(changes)
    return message


def test_the_sqs_body_parses_to_the_envelope_and_keeps_the_type_s_fields() -> None:
    message = parse_message(json.dumps(envelope()), SETTINGS)
    assert (message.id, message.type, message.resource.id, message.resourceVersion) == (
        "6c1e0b5e-msg-1",
        "OrderPaymentStateChanged",
        "9f2a-order",
        7,
    )
    assert message.order_number == "A-10042"
    assert message.fields == {"paymentState": "Paid", "oldPaymentState": "Pending"}
    assert not message.needs_fresh_read
    assert may_release(message, SETTINGS)


def test_on_eventbridge_the_envelope_is_read_from_detail() -> None:
    event = {
        "version": "0",
        "detail-type": "OrderPaymentStateChanged",
        "source": "aws.partner/commercetools.com/x",
        "detail": envelope(),
    }
    assert parse_message(event, SETTINGS).id == "6c1e0b5e-msg-1"


def test_another_project_s_message_is_refused_with_both_keys_named() -> None:
    with pytest.raises(WrongProjectError) as refused:
        parse_message(json.dumps(envelope(projectKey="acme-staging")), SETTINGS)
    assert refused.value.reason is ReasonCode.MESSAGE_MISROUTED
    assert "acme-staging" in refused.value.detail and "acme-prod" in refused.value.detail


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps([envelope()]),
        json.dumps(envelope(notificationType="ResourceUpdated")),
        json.dumps({k: v for k, v in envelope().items() if k != "resourceVersion"}),
    ],
)
def test_what_is_not_a_commercetools_message_is_permanent(body: str) -> None:
    with pytest.raises(PermanentError) as error:
        parse_message(body, SETTINGS)
    assert error.value.reason is ReasonCode.PAYLOAD_INVALID


def test_payload_not_included_asks_for_a_fresh_read() -> None:
    message = parse_message(
        envelope(
            payloadNotIncluded={"reason": "Payload too large", "payloadType": "OrderCreated"},
            type="OrderCreated",
            paymentState=None,
        ),
        SETTINGS,
    )
    assert message.needs_fresh_read
    big_paid = parse_message(
        envelope(payloadNotIncluded={"reason": "too large", "payloadType": "x"}, paymentState=None), SETTINGS
    )
    assert may_release(big_paid, SETTINGS)  # cannot tell from the envelope: read the order and decide there


def test_a_duplicate_is_dropped_and_an_older_version_is_stale() -> None:
    ledger = MemoryLedger()
    first = parse_message(envelope(id="m-1", resourceVersion=7), SETTINGS)
    assert verdict(first, ledger) is Verdict.PROCESS
    ledger.record(first)
    # the same message again (at-least-once delivery)
    assert verdict(parse_message(envelope(id="m-1", resourceVersion=7), SETTINGS), ledger) is Verdict.DUPLICATE
    # an older change arriving late
    assert verdict(parse_message(envelope(id="m-0", resourceVersion=5), SETTINGS), ledger) is Verdict.STALE
    # a sibling of the same update (one message per action, same resourceVersion) is processed
    assert verdict(parse_message(envelope(id="m-2", resourceVersion=7), SETTINGS), ledger) is Verdict.PROCESS
    # a later change, and any version of another order
    assert verdict(parse_message(envelope(id="m-3", resourceVersion=9), SETTINGS), ledger) is Verdict.PROCESS
    other = envelope(id="m-4", resourceVersion=1, resource={"typeId": "order", "id": "another"})
    assert verdict(parse_message(other, SETTINGS), ledger) is Verdict.PROCESS


def test_not_recording_a_failed_attempt_lets_its_redelivery_through() -> None:
    ledger = MemoryLedger()
    message = parse_message(envelope(), SETTINGS)
    assert verdict(message, ledger) is Verdict.PROCESS
    assert verdict(message, ledger) is Verdict.PROCESS  # the first attempt failed before recording


def test_the_ledger_stays_bounded() -> None:
    ledger = MemoryLedger(capacity=2)
    for number in range(3):
        ledger.record(
            parse_message(envelope(id=f"m-{number}", resource={"typeId": "order", "id": f"o-{number}"}), SETTINGS)
        )
    assert not ledger.seen("m-0") and ledger.seen("m-2") and ledger.last_version("o-0") is None


@pytest.mark.parametrize(
    ("trigger", "message", "expected"),
    [
        (ReleaseTrigger.PAYMENT_PAID, envelope(paymentState="Pending"), False),
        (ReleaseTrigger.PAYMENT_PAID, envelope(type="OrderCreated"), False),
        (ReleaseTrigger.ORDER_CONFIRMED, envelope(type="OrderStateChanged", orderState="Confirmed"), True),
        (ReleaseTrigger.ORDER_CONFIRMED, envelope(type="OrderStateChanged", orderState="Cancelled"), False),
        (
            ReleaseTrigger.STATE_TRANSITION,
            envelope(type="OrderStateTransition", state={"typeId": "state", "id": "st-ready"}),
            True,
        ),
        (
            ReleaseTrigger.STATE_TRANSITION,
            envelope(type="OrderStateTransition", state={"typeId": "state", "id": "st-packed"}),
            False,
        ),
        (
            ReleaseTrigger.PAYMENT_PAID,
            envelope(type="PaymentTransactionStateChanged", resource={"typeId": "payment", "id": "p-1"}),
            False,
        ),
    ],
)
def test_only_the_client_s_trigger_prompts_a_fresh_read(
    trigger: ReleaseTrigger, message: dict[str, Any], expected: bool
) -> None:
    settings = SETTINGS.model_copy(update={"release_trigger": trigger, "release_state_id": "st-ready"})
    assert may_release(parse_message(message, settings), settings) is expected


def state_changed(state: str, **changes: Any) -> dict[str, Any]:
    return envelope(type="OrderStateChanged", orderState=state, oldOrderState="Open", paymentState=None, **changes)


def test_order_state_changed_to_cancelled_asks_for_the_cancellation_of_that_order() -> None:
    request = cancel_request(parse_message(state_changed("Cancelled"), SETTINGS), "acme")
    assert request is not None
    assert (request.source, request.source_id, request.order_number, request.trigger) == (
        "commercetools",
        "9f2a-order",
        "A-10042",
        "webhook",
    )
    assert request.order_key == "commercetools#9f2a-order"
    # Any other state, or another message type, asks for nothing
    assert cancel_request(parse_message(state_changed("Confirmed"), SETTINGS), "acme") is None
    assert cancel_request(parse_message(envelope(), SETTINGS), "acme") is None


def test_without_its_payload_only_the_fresh_read_state_decides() -> None:
    bare = parse_message(
        envelope(type="OrderStateChanged", paymentState=None, payloadNotIncluded={"reason": "too big"}), SETTINGS
    )
    assert cancel_request(bare, "acme") is None
    assert cancel_request(bare, "acme", fresh_state="Confirmed") is None
    assert cancel_request(bare, "acme", fresh_state="Cancelled") is not None
