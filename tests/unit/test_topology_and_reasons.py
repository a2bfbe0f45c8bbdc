"""The declared wiring is consistent, and every reason code has an owner."""

from __future__ import annotations

import dataclasses

import pytest

from shared import topology
from shared.config import ClientConfig, config_for_client
from shared.models import OWNER, ReasonCode
from shared.topology import build


def test_every_reason_has_an_owning_team() -> None:
    assert set(OWNER) == set(ReasonCode)


def test_topology_validates_and_every_queue_has_one_consumer() -> None:
    topology.validate()
    consumed = [h.trigger.queue for h in topology.HOPS if isinstance(h.trigger, topology.QueueTrigger)]
    assert sorted(consumed) == sorted(q.name for q in topology.QUEUES)


def test_a_hop_sending_to_an_undeclared_queue_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = dataclasses.replace(topology.HOPS[0], sends_to=("nowhere",))
    monkeypatch.setattr(build, "HOPS", (broken, *topology.HOPS[1:]))
    with pytest.raises(ValueError, match="undeclared queue nowhere"):
        topology.validate()


def test_short_visibility_timeout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    short = tuple(dataclasses.replace(q, visibility_timeout_seconds=30) for q in topology.QUEUES)
    monkeypatch.setattr(build, "QUEUES", short)
    with pytest.raises(ValueError, match="visibility timeout"):
        topology.validate()


def test_every_hop_has_a_handler_module() -> None:
    import importlib.util

    for hop in topology.HOPS:
        assert importlib.util.find_spec(hop.module) is not None, hop.module


# -- the one webhook receiver: routes, queues and secrets from the configured platforms' channels ------------


def example() -> ClientConfig:
    return config_for_client("example-cin7-scend")


def receiver(config: ClientConfig) -> topology.Hop:
    return topology.for_config(config).hop(topology.WEBHOOK_RECEIVER)


def test_the_receiver_routes_every_channel_its_platforms_play_a_role_for() -> None:
    hop = receiver(example())
    assert isinstance(hop.trigger, topology.ApiTrigger)
    assert [(r.method, r.path, r.platform, r.channel, r.header) for r in hop.trigger.routes] == [
        ("POST", "/webhooks/cin7/sales", "cin7", "sales", "X-Hopline-Webhook-Secret"),
        ("POST", "/webhooks/cin7/stock", "cin7", "stock", "X-Hopline-Webhook-Secret"),
    ]
    assert hop.sends_to == ("order-intake", "cancel-requests", "stock-sync")
    assert hop.secrets == ("platforms.cin7.webhook_secret",)
    assert topology.for_config(example()).routes == hop.trigger.routes


def test_a_channel_whose_roles_no_pipeline_asks_for_has_no_route() -> None:
    config = example()
    config = config.model_copy(update={"pipelines": config.pipelines.model_copy(update={"stock": None})})
    hop = receiver(config)
    assert isinstance(hop.trigger, topology.ApiTrigger)
    assert [r.path for r in hop.trigger.routes] == ["/webhooks/cin7/sales"]
    assert "stock-sync" not in hop.sends_to


def test_without_a_webhook_secret_there_is_no_route_and_no_receiver() -> None:
    config = example().with_platform("cin7", webhook_secret=None)
    deployed = topology.for_config(config)
    assert deployed.routes == ()
    assert topology.WEBHOOK_RECEIVER not in {h.name for h in deployed.hops}
    assert deployed.hop("order_intake")  # the pipelines themselves still run (the poll is the safety net)


def test_the_declared_receiver_routes_nothing_until_a_config_derives_its_routes() -> None:
    declared = topology.hop(topology.WEBHOOK_RECEIVER)
    assert isinstance(declared.trigger, topology.ApiTrigger)
    assert (declared.trigger.path, declared.trigger.routes, declared.sends_to, declared.secrets) == (
        "/webhooks/{platform}/{channel}",
        (),
        (),
        (),
    )


def test_the_stock_pushers_batch_and_batching_window_are_the_clients() -> None:
    # Given the example client's stock settings: a window, and a batch to hold a window's messages
    config = example()
    trigger = topology.for_config(config).hop("push_stock").trigger
    assert isinstance(trigger, topology.QueueTrigger)
    assert (trigger.batch_size, trigger.max_batching_window_seconds) == (
        config.stock.messages_per_invocation,
        config.stock.event_window_seconds,
    )
    assert trigger.max_batching_window_seconds > 0
    # Settings without them keep the declared trigger: five messages, delivered at once
    plain = config.stock.model_copy(update={"event_window_seconds": 0, "messages_per_invocation": 5})
    config = config.model_copy(update={"pipelines": config.pipelines.model_copy(update={"stock": plain})})
    assert topology.for_config(config).hop("push_stock").trigger == topology.hop("push_stock").trigger
    assert topology.hop("push_stock").trigger == topology.QueueTrigger("stock-sync", batch_size=5)


@pytest.mark.parametrize("client", ["example-cin7-scend", "example-commercetools-scend", "example-sfcc-cin7"])
@pytest.mark.parametrize("cancellation", [True, False], ids=["with-cancellation", "without-cancellation"])
def test_deploys_queue_answers_as_the_clients_topology_deploys(client: str, cancellation: bool) -> None:
    """A running hop asks `deploys_queue` instead of building the client's topology: the same answer for
    every queue, and the order-message consumer sends cancellations exactly where cancel-requests exists."""
    config = config_for_client(client)
    if not cancellation:
        config = config.model_copy(update={"pipelines": config.pipelines.model_copy(update={"cancellation": None})})
    deployed = topology.for_config(config)
    assert {q.name for q in topology.QUEUES if topology.deploys_queue(config, q.name)} == deployed.queue_names
    if topology.MESSAGE_CONSUMER in {h.name for h in deployed.hops}:
        consumer = deployed.hop(topology.MESSAGE_CONSUMER)
        assert ("cancel-requests" in consumer.sends_to) == topology.deploys_queue(config, "cancel-requests")
    assert topology.deploys_queue(config, "cancel-requests") == cancellation
