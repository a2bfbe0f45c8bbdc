"""A platform that delivers into our queue itself (a connector's subscription channel) is admitted by the
queue's resource policy as its one configured principal, or forwarded by one EventBridge rule from its own
partner source; nothing else gains a way in. Proven with the toy shop, a platform defined in tests only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from app import add_stacks, project_context
from infra.stack import HoplineClientStack
from shared import topology
from shared.config import ClientConfig
from shared.connectors import registry
from tests import toy_platform

pytestmark = pytest.mark.infra

SENDER = "arn:aws:iam::362576667341:user/subscriptions"
EVENT_SOURCE = "aws.partner/toyshop.example/toy-brand/orders"


def toy_client(**shop: Any) -> ClientConfig:
    return ClientConfig.model_validate(
        {
            "client": "toy-brand",
            "platforms": {
                "shop": {"type": "toyshop", "credentials_secret": "hopline/toy-brand/shop", **shop},
                "wh": {
                    "type": "scend",
                    "base_url": "https://api.scend.example/api/",
                    "credentials_secret": "hopline/toy-brand/wh",
                    "warehouse_id": 3,
                },
            },
            "pipelines": {
                "orders": {
                    "from": "shop",
                    "to": "wh",
                    "reference_prefix": "TOY",
                    "delivery_services": {"Royal Mail Tracked 48": "RM-TRACKED-48"},
                }
            },
        }
    )


@pytest.fixture(scope="module")
def toy_registered() -> Iterator[None]:
    registry.register(toy_platform.SPEC)
    try:
        yield
    finally:
        registry.unregister("toyshop")


def synth(config: ClientConfig) -> tuple[HoplineClientStack, dict[str, Any]]:
    app = cdk.App(context=project_context(), post_cli_context={"aws:cdk:bundling-stacks": []})
    stacks = add_stacks(app, [config])
    (stack,) = stacks
    return stack, Template.from_stack(stack).to_json()["Resources"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: value["Properties"] for key, value in resources.items() if value["Type"] == kind}


def allows(stack: HoplineClientStack, resources: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """Every Allow statement of the topology queues' policies (and their DLQs'), with the queues it is on
    (a schedule's failure queue admits only its own rule, and is not a way in)."""
    ours = [stack.resolve(q.queue.queue_url) for q in stack.queues.values()]
    ours += [stack.resolve(q.dlq.queue_url) for q in stack.queues.values()]
    return [
        (props["Queues"], statement)
        for props in of_type(resources, "AWS::SQS::QueuePolicy").values()
        if any(queue in ours for queue in props["Queues"])
        for statement in props["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]


@pytest.fixture(scope="module")
def sqs_delivery(toy_registered: None) -> tuple[HoplineClientStack, dict[str, Any]]:
    return synth(toy_client(subscription_principal=SENDER))


def test_for_config_yields_the_subscription_its_settings_name(toy_registered: None) -> None:
    [sub] = topology.for_config(toy_client(subscription_principal=SENDER)).subscriptions
    assert (sub.platform, sub.channel.name, sub.queue, sub.principal) == ("shop", "orders", "order-messages", SENDER)
    assert topology.for_config(toy_client()).subscriptions == ()  # no sender named: no way in


def test_the_queue_admits_only_the_configured_sender_and_only_to_send(
    sqs_delivery: tuple[HoplineClientStack, dict[str, Any]],
) -> None:
    stack, resources = sqs_delivery
    # Given the queue the subscription delivers into
    intake = stack.resolve(stack.queues["order-messages"].queue.queue_url)
    intake_arn = stack.resolve(stack.queues["order-messages"].queue.queue_arn)
    # Then exactly one Allow exists on any queue policy: that sender, sqs:SendMessage, that queue
    [(queues, statement)] = allows(stack, resources)
    assert queues == [intake]
    assert statement["Principal"] == {"AWS": SENDER}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == intake_arn
    assert "Condition" not in statement
    # And no rule forwards anything: this channel is SQS delivery
    assert of_type(resources, "AWS::Events::Rule").keys() == {
        key for key, props in of_type(resources, "AWS::Events::Rule").items() if "ScheduleExpression" in props
    }


def test_without_a_sender_no_queue_policy_allows_anything(toy_registered: None) -> None:
    stack, resources = synth(toy_client())
    assert allows(stack, resources) == []


def test_an_eventbridge_source_is_forwarded_by_one_rule_onto_the_queue(toy_registered: None) -> None:
    stack, resources = synth(toy_client(event_source=EVENT_SOURCE))
    intake_arn = stack.resolve(stack.queues["order-messages"].queue.queue_arn)
    # Then one rule on the partner source's bus matches that source and targets the intake queue
    [rule] = [props for props in of_type(resources, "AWS::Events::Rule").values() if "EventPattern" in props]
    assert rule["EventBusName"] == EVENT_SOURCE
    assert rule["EventPattern"] == {"source": [EVENT_SOURCE]}
    [target] = rule["Targets"]
    assert target["Arn"] == intake_arn
    # And the queue admits EventBridge only for that rule (CDK's SQS target grants sending, with its lookups)
    [(_, statement)] = allows(stack, resources)
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]
    assert statement["Resource"] == intake_arn
    rule_id = next(key for key, props in of_type(resources, "AWS::Events::Rule").items() if "EventPattern" in props)
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
