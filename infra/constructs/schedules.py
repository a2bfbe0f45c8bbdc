"""A schedule that invokes a hop, with a dead-letter queue so a missed or failed run is visible."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from infra.constructs.queue_with_dlq import dead_letter_queue

# EventBridge retries delivering an invocation this often within this age before parking it.
TARGET_RETRY_ATTEMPTS = 2
TARGET_MAX_EVENT_AGE = cdk.Duration.hours(1)


class HopSchedule(Construct):
    """An EventBridge rule on `expression` targeting `function`.

    Undeliverable invocations (EventBridge) and failed runs (Lambda's asynchronous on-failure
    destination) both land in one DLQ, which the stack alarms on. Lambda does not retry a failed run:
    the next tick is the retry, and two overlapping runs would only race on the same cursor.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        expression: str,
        function: lambda_.IFunction,
        rule_name: str | None,
        dead_letter_queue_name: str,
        description: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = dead_letter_queue(self, "DeadLetterQueue", queue_name=dead_letter_queue_name)
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=rule_name,
            description=description[:512],
            schedule=events.Schedule.expression(expression),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                retry_attempts=TARGET_RETRY_ATTEMPTS,
                max_event_age=TARGET_MAX_EVENT_AGE,
                dead_letter_queue=self.dlq,
            )
        )
        function.configure_async_invoke(retry_attempts=0, on_failure=destinations.SqsDestination(self.dlq))
