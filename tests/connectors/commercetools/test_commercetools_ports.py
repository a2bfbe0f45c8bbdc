"""The adapter's pure decisions: a note is added once to the notes field, and an order carrying another
custom Type without that field is refused naming both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.connectors.commercetools.mapping import CtOrder
from shared.connectors.commercetools.ports import accepted_lines, note_actions
from shared.connectors.commercetools.settings import CommercetoolsSettings
from shared.errors import PermanentError

SETTINGS = CommercetoolsSettings(
    project_key="acme-prod", credentials_secret="ct/acme", supply_channels={"WH1": "ch-1"}, sync_channel_id="sync"
)


def order(**fields: Any) -> CtOrder:
    stamp = datetime(2026, 11, 23, 8, tzinfo=UTC).isoformat()
    money = {"currencyCode": "GBP", "centAmount": 1000}
    return CtOrder.model_validate(
        {
            "id": "o-1",
            "version": 3,
            "orderState": "Open",
            "totalPrice": money,
            "createdAt": stamp,
            "lastModifiedAt": stamp,
            "lineItems": [
                {
                    "id": "li-1",
                    "variant": {"id": 1, "sku": "TEE"},
                    "quantity": 2,
                    "price": {"value": money},
                    "totalPrice": money,
                }
            ],
            **fields,
        }
    )


def test_a_note_sets_the_type_then_appends_and_a_repeat_writes_nothing() -> None:
    [first] = note_actions(order(), "cancelled", SETTINGS, "t-1")
    assert first["action"] == "setCustomType" and first["fields"] == {"hoplineNotes": "cancelled"}
    noted = order(custom={"type": {"typeId": "type", "id": "t-1"}, "fields": {"hoplineNotes": "cancelled"}})
    assert note_actions(noted, "cancelled", SETTINGS, "t-1") == []
    [second] = note_actions(noted, "too late", SETTINGS, "t-1")
    assert second == {"action": "setCustomField", "name": "hoplineNotes", "value": "cancelled\ntoo late"}


def test_another_type_without_the_notes_field_is_refused() -> None:
    other = order(custom={"type": {"typeId": "type", "id": "t-9"}, "fields": {"giftWrap": True}})
    with pytest.raises(PermanentError, match="hoplineNotes"):
        note_actions(other, "x", SETTINGS, "t-1")


def test_lines_are_at_the_warehouse_once_the_order_carries_sync_info_on_our_channel() -> None:
    assert [line.at_warehouse for line in accepted_lines(order(), SETTINGS)] == [False]
    synced = order(syncInfo=[{"channel": {"typeId": "channel", "id": "sync"}, "externalId": "50001"}])
    [line] = accepted_lines(synced, SETTINGS)
    assert (line.sku, line.quantity, line.location, line.at_warehouse) == ("TEE", 2, None, True)


def test_an_order_synced_after_the_warehouse_read_still_counts_as_pending_for_that_figure() -> None:
    read = datetime(2026, 11, 23, 9, tzinfo=UTC)
    info = {
        "channel": {"typeId": "channel", "id": "sync"},
        "externalId": "50001",
        "syncedAt": "2026-11-23T09:00:05.000Z",
    }
    synced = order(syncInfo=[info])
    assert [line.at_warehouse for line in accepted_lines(synced, SETTINGS, read)] == [False]
    assert [line.at_warehouse for line in accepted_lines(synced, SETTINGS, read.replace(minute=1))] == [True]
    unreadable = order(syncInfo=[{**info, "syncedAt": "soon"}])
    assert [line.at_warehouse for line in accepted_lines(unreadable, SETTINGS, read)] == [False]
