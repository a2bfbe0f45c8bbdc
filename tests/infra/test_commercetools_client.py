"""The example commercetools -> Scend client file loads, builds its topology, and a pipeline asking a
platform for a role its connector does not offer fails naming the pipeline, the platform and the role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from shared.config import ClientConfig, load_client_config
from shared.connectors.spec import Role
from shared.topology import for_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "infra" / "clients" / "example-commercetools-scend.yaml"


def test_the_example_validates_with_commercetools_playing_its_roles() -> None:
    config = load_client_config(EXAMPLE)
    assert config.platforms["shop"].type == "commercetools"
    assert config.platform_for(Role.ORDER_SOURCE) == "shop"
    assert config.platform_for(Role.SHIPMENT_TARGET) == "shop"
    assert config.platform_for(Role.NOTE_TARGET) == "shop"
    assert config.platform_for(Role.ORDER_TARGET) == "scend"
    topology = for_config(config)
    assert topology  # the pipelines named deploy something


def test_the_example_stock_pipeline_has_scend_as_master_and_the_shop_as_target() -> None:
    config = load_client_config(EXAMPLE)
    assert config.platform_for(Role.STOCK_MASTER) == "scend"
    assert config.platform_for(Role.STOCK_TARGET) == "shop"
    assert config.stock.locations == {"3": "3"}
    assert "3" in config.platforms["shop"].supply_channels  # type: ignore[attr-defined]
    hops = {hop.name for hop in for_config(config).hops}
    assert {"read_stock", "push_stock", "reconcile_stock"} <= hops


def test_a_stock_pipeline_from_the_shop_fails_naming_the_role_it_lacks() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pipelines"]["stock"] = {"from": "shop", "to": "scend", "locations": {"3": "3"}}
    with pytest.raises(ValidationError) as refused:
        ClientConfig.model_validate(data)
    [(field, problem)] = refused.value.errors()[0]["ctx"]["problems"]
    assert field == "pipelines.stock.from"
    assert "('shop') cannot play stock_master" in problem


@pytest.fixture(scope="module")
def synthesized() -> tuple[Any, dict[str, Any]]:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from app import add_stacks, project_context

    app = cdk.App(context=project_context(), post_cli_context={"aws:cdk:bundling-stacks": []})
    (stack,) = add_stacks(app, [load_client_config(EXAMPLE)])
    return stack, Template.from_stack(stack).to_json()["Resources"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: value["Properties"] for key, value in resources.items() if value["Type"] == kind}


@pytest.mark.infra
def test_the_example_stack_admits_only_commercetools_to_its_message_queue(
    synthesized: tuple[Any, dict[str, Any]],
) -> None:
    stack, resources = synthesized
    # Given the queue the order Subscription delivers into, with its DLQ
    messages = stack.queues["order-messages"]
    url, arn = stack.resolve(messages.queue.queue_url), stack.resolve(messages.queue.queue_arn)
    # Then its policy allows commercetools' principal to send, and nothing else
    statements = [
        statement
        for props in of_type(resources, "AWS::SQS::QueuePolicy").values()
        if url in props["Queues"]
        for statement in props["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]
    assert statements == [
        {
            "Sid": "SubscriptionShopOrders",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::362576667341:user/subscriptions"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
        }
    ]
    # And it redrives to its own DLQ, watched by an alarm, and one function consumes it
    [queue] = [
        p for p in of_type(resources, "AWS::SQS::Queue").values() if p.get("QueueName", "").endswith("-order-messages")
    ]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == stack.resolve(messages.dlq.queue_arn)
    alarms = {p["AlarmName"] for p in of_type(resources, "AWS::CloudWatch::Alarm").values()}
    assert "hopline-example-commercetools-scend-order-messages-dead-letters" in alarms
    [mapping] = [
        p for p in of_type(resources, "AWS::Lambda::EventSourceMapping").values() if p["EventSourceArn"] == arn
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stack.resolve(stack.functions["take_order_message"].function.function_name) == mapping["FunctionName"]


def test_eventbridge_delivery_forwards_the_partner_source_instead() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    del data["platforms"]["shop"]["subscription_principal"]
    data["platforms"]["shop"]["subscription_delivery"] = "eventbridge"
    [sub] = for_config(ClientConfig.model_validate(data)).subscriptions
    assert (sub.channel.delivery, sub.queue) == ("eventbridge", "order-messages")
    assert sub.principal == "aws.partner/commercetools.com/example-shop/hopline-orders"
