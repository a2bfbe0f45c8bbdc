"""Which pushed order messages release, cancel or wait: the pure flow, and commercetools' three triggers mapped
onto it. Never on creation; a message without its payload is decided from a fresh read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.connectors.commercetools.messages import event_rules, parse_message, to_order_event
from shared.connectors.commercetools.settings import CommercetoolsSettings
from shared.flows.order_events import (
    Action,
    EventKind,
    EventRules,
    OrderEvent,
    Verdict,
    message_verdict,
    route_event,
    route_fresh,
)
from shared.models import Address, Order, OrderLine

PAID = EventRules(release_kind=EventKind.PAYMENT_STATE, release_state="Paid", cancel_state="Cancelled")


def settings(**changes: Any) -> CommercetoolsSettings:
    return CommercetoolsSettings(project_key="acme-prod", credentials_secret="ct/acme", **changes)


def message(type_: str, **fields: Any) -> dict[str, Any]:
    return {
        "notificationType": "Message",
        "projectKey": "acme-prod",
        "id": "m-1",
        "sequenceNumber": 3,
        "resource": {"typeId": "order", "id": "o-1"},
        "resourceVersion": 5,
        "type": type_,
        "createdAt": "2025-03-01T10:00:00.000Z",
        "lastModifiedAt": "2025-03-01T10:00:00.000Z",
        **fields,
    }


def routed(body: dict[str, Any], config: CommercetoolsSettings) -> Action:
    return route_event(to_order_event(parse_message(body, config)), event_rules(config)).action


@pytest.mark.parametrize(
    ("trigger", "body", "action"),
    [
        ("payment_paid", message("OrderPaymentStateChanged", paymentState="Paid"), Action.INTAKE),
        ("payment_paid", message("OrderPaymentStateChanged", paymentState="Pending"), Action.IGNORE),
        ("payment_paid", message("OrderStateChanged", orderState="Confirmed"), Action.IGNORE),
        ("order_confirmed", message("OrderStateChanged", orderState="Confirmed"), Action.INTAKE),
        ("order_confirmed", message("OrderPaymentStateChanged", paymentState="Paid"), Action.IGNORE),
        (
            "state_transition",
            message("OrderStateTransition", state={"typeId": "state", "id": "s-ready"}),
            Action.INTAKE,
        ),
        (
            "state_transition",
            message("OrderStateTransition", state={"typeId": "state", "id": "s-other"}),
            Action.IGNORE,
        ),
        ("payment_paid", message("OrderStateChanged", orderState="Cancelled"), Action.CANCEL),
    ],
)
def test_each_commercetools_trigger_releases_on_its_own_message_only(
    trigger: str, body: dict[str, Any], action: Action
) -> None:
    config = settings(release_trigger=trigger, release_state_id="s-ready" if trigger == "state_transition" else "")
    assert routed(body, config) is action


@pytest.mark.parametrize("trigger", ["payment_paid", "order_confirmed"])
def test_order_created_never_releases_whatever_its_order_holds(trigger: str) -> None:
    created = message("OrderCreated", order={"orderState": "Confirmed", "paymentState": "Paid"})
    assert routed(created, settings(release_trigger=trigger)) is Action.IGNORE


def test_a_trigger_message_without_its_payload_asks_for_a_read() -> None:
    body = message("OrderPaymentStateChanged", payloadNotIncluded={"reason": "too large", "payloadType": "x"})
    assert routed(body, settings()) is Action.READ


def test_rules_refuse_creation_as_a_trigger() -> None:
    with pytest.raises(ValueError, match="never released on a created event"):
        EventRules(release_kind=EventKind.CREATED, release_state="")


def order(status: str, *, authorised: bool) -> Order:
    return Order(
        source="commercetools",
        source_id="o-1",
        order_number="A-1",
        status=status,
        authorised=authorised,
        lines=(OrderLine(sku="S", quantity=Decimal(1), unit_price=Decimal(1)),),
        shipping_address=Address(),
        updated_at=datetime(2025, 3, 1, tzinfo=UTC),
    )


def test_a_fresh_read_releases_only_an_order_at_its_trigger_and_cancels_a_cancelled_one() -> None:
    assert route_fresh(order("Open", authorised=True), PAID).action is Action.INTAKE
    assert route_fresh(order("Open", authorised=False), PAID).action is Action.IGNORE
    assert route_fresh(order("Cancelled", authorised=False), PAID).action is Action.CANCEL
    no_cancel = PAID.model_copy(update={"cancel_state": None})
    assert route_fresh(order("Cancelled", authorised=False), no_cancel).action is Action.IGNORE
    assert route_event(OrderEvent(kind=EventKind.ORDER_STATE, state="Cancelled"), no_cancel).action is Action.IGNORE


@pytest.mark.parametrize(
    ("seen", "last", "version", "verdict"),
    [
        (True, None, 3, Verdict.DUPLICATE),
        (False, 4, 3, Verdict.STALE),
        (False, 3, 3, Verdict.PROCESS),  # one update, several messages at one version
        (False, 2, 3, Verdict.PROCESS),
        (False, None, 3, Verdict.PROCESS),
    ],
)
def test_duplicates_by_id_and_stale_by_a_strictly_later_version(
    seen: bool, last: int | None, version: int, verdict: Verdict
) -> None:
    assert message_verdict(seen=seen, last_version=last, version=version) is verdict
