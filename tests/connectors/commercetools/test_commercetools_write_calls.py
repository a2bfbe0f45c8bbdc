"""What recording the Scend id on an order costs, counted at the vendor's mock: the order intake has just
read is written against its version (one call); only an order changed since is read again, and an id already
there is never written twice."""

from __future__ import annotations

from collections import Counter

from sandbox.simulators.commercetools import CommercetoolsMock, Seeder
from shared.connectors.commercetools import CommercetoolsClient
from shared.connectors.commercetools.ports import CommercetoolsPorts


def order_calls(mock: CommercetoolsMock, before: Counter[tuple[str, str]]) -> list[str]:
    """The order routes called since `before`, by method and path, one entry per call."""
    since = mock.calls() - before
    return sorted(
        f"{route.split(' ')[0]} /{route.split('/', 2)[2]}"  # without the project key
        for (_, route), count in since.items()
        if "/orders" in route
        for _ in range(count)
    )


def synced(client: CommercetoolsClient, order_id: str) -> list[str]:
    channel = client.settings.sync_channel_id
    return [str(info.externalId) for info in client.get_order(order_id).syncInfo if info.channel.id == channel]


def test_the_id_is_written_against_the_order_as_read_with_no_read_of_its_own(
    ct_mock: CommercetoolsMock, ct_client: CommercetoolsClient, seeder: Seeder
) -> None:
    seeder.product(["SYNC-CALLS-1"], name="Sync calls tee")
    ports = CommercetoolsPorts(ct_client)
    placed = seeder.order([("SYNC-CALLS-1", 1)])
    # Given the order as intake read it
    order, _ = ports.read_order(placed["id"])
    assert order.source_version == placed["version"] and order.warehouse_ids == ()
    # When its Scend id is recorded, then that is the one call: the update, against the version read
    before = ct_mock.calls()
    ports.record_warehouse_order(placed["id"], "SC-CALLS-1", as_read=order)
    assert order_calls(ct_mock, before) == ["POST /orders/{id}"]
    assert synced(ct_client, placed["id"]) == ["SC-CALLS-1"]
    # When the same order as read is offered again (a redelivered submit), its version is stale: the
    # platform answers 409 and the fresh read holds the id (the next test has the 409); the mock checks no
    # version for an update that changes nothing, and it answers one POST. Either way: the id once
    before = ct_mock.calls()
    ports.record_warehouse_order(placed["id"], "SC-CALLS-1", as_read=order)
    assert order_calls(ct_mock, before) in (["POST /orders/{id}"], ["GET /orders/{id}", "POST /orders/{id}"])
    assert synced(ct_client, placed["id"]) == ["SC-CALLS-1"]
    # And an order read with the id on it (a replayed release) costs no call at all
    replayed, _ = ports.read_order(placed["id"])
    assert replayed.warehouse_ids == ("SC-CALLS-1",)
    before = ct_mock.calls()
    ports.record_warehouse_order(placed["id"], "SC-CALLS-1", as_read=replayed)
    assert order_calls(ct_mock, before) == []


def test_an_order_changed_since_it_was_read_is_read_and_decided_again(
    ct_mock: CommercetoolsMock, ct_client: CommercetoolsClient, seeder: Seeder
) -> None:
    seeder.product(["SYNC-CALLS-2"], name="Sync calls cap")
    ports = CommercetoolsPorts(ct_client)
    placed = seeder.order([("SYNC-CALLS-2", 1)])
    order, _ = ports.read_order(placed["id"])
    # Given the order moved on after intake read it (payment taken)
    seeder.update(f"orders/{placed['id']}", [{"action": "changePaymentState", "paymentState": "Paid"}])
    before = ct_mock.calls()
    ports.record_warehouse_order(placed["id"], "SC-CALLS-2", as_read=order)
    # Then the stale write is refused (409), the order read, and the id written against the fresh version
    assert order_calls(ct_mock, before) == ["GET /orders/{id}", "POST /orders/{id}", "POST /orders/{id}"]
    fresh = ct_client.get_order(placed["id"])
    assert fresh.paymentState == "Paid" and synced(ct_client, placed["id"]) == ["SC-CALLS-2"]
