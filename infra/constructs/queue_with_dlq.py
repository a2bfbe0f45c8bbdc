"""An SQS work queue and its dead-letter queue, redrivable from the console."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

MAIN_RETENTION = cdk.Duration.days(4)
# The SQS maximum: a parked message survives a long weekend and an investigation.
DEAD_LETTER_RETENTION = cdk.Duration.days(14)
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def checked_queue_name(name: str) -> str:
    """SQS allows 1-80 of letters, digits, '-' and '_'; fail at synth, not half-way through a deploy."""
    if not _QUEUE_NAME.match(name):
        raise ValueError(f"queue name '{name}' is not a valid SQS name (1-80 of A-Z a-z 0-9 - _)")
    return name


def dead_letter_queue(
    scope: Construct, construct_id: str, *, queue_name: str, source_queue_arns: tuple[str, ...] = ()
) -> sqs.Queue:
    """A DLQ: encrypted, TLS only, 14 days retention.

    With source queues it allows exactly those to use it (the console's "Start DLQ redrive" moves
    messages back to them); without, no queue may use it (it receives from EventBridge or Lambda).
    """
    if source_queue_arns:
        allow = sqs.RedriveAllowPolicy(
            redrive_permission=sqs.RedrivePermission.BY_QUEUE,
            source_queues=[
                sqs.Queue.from_queue_arn(scope, f"{construct_id}Source{index}", arn)
                for index, arn in enumerate(source_queue_arns)
            ],
        )
    else:
        allow = sqs.RedriveAllowPolicy(redrive_permission=sqs.RedrivePermission.DENY_ALL)
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=checked_queue_name(queue_name),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
        redrive_allow_policy=allow,
    )


class QueueWithDlq(Construct):
    """A named work queue whose messages land in `<name>-dlq` after `max_receive_count` deliveries."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue_name: str,
        visibility_timeout: cdk.Duration,
        max_receive_count: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # The DLQ names its source by ARN, built from the name rather than referenced: a reference would
        # make each queue depend on the other and CloudFormation would refuse the cycle.
        source_arn = stack.format_arn(
            service="sqs", resource=checked_queue_name(queue_name), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
        )
        self.dlq = dead_letter_queue(
            self, "DeadLetterQueue", queue_name=f"{queue_name}-dlq", source_queue_arns=(source_arn,)
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=MAIN_RETENTION,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=max_receive_count, queue=self.dlq),
        )
