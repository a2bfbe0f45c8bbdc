"""Every cdk-nag finding we accept, pinned: rule, where, why, and how many findings it covers in one stack.

Stacks apply suppressions only from these lists (nothing else calls NagSuppressions), and
tests/infra/test_nag.py fails on any finding left unsuppressed, any suppression not listed here and any entry
that suppresses a different number of findings than it says: a new wildcard or a new suppressed rule is a
change to this file, in review, never a silent pass. Adding a hop changes `count` of the per-function entries.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import aws_cdk as cdk
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct


@dataclass(frozen=True)
class Suppression:
    """`path`: fnmatch pattern over the resource's construct path below its stack. `finding`: for rules that
    report findings (IAM4, IAM5), a regular expression over the finding; None suppresses the whole rule."""

    rule: str
    path: str
    reason: str
    count: int
    finding: str | None = None

    def matches(self, relative_path: str) -> bool:
        return fnmatch.fnmatchcase(relative_path, self.path)

    def covers(self, finding: str) -> bool:
        return self.finding is None or re.fullmatch(self.finding, finding) is not None


_NO_AUTHORIZER = (
    "Webhook senders (e.g. Cin7 Core) cannot sign AWS requests or obtain Cognito tokens; they send a shared "
    "secret in a custom header. The receiver compares it in constant time against the value in Secrets "
    "Manager before doing anything else, and API Gateway rejects requests without the header first."
)

CLIENT_STACK: tuple[Suppression, ...] = (
    Suppression(
        "AwsSolutions-L1",
        "*Function/Function/Resource",
        count=20,
        reason="Pinned to Python 3.12: the dependency layer and the precompiled .pyc files are built for 3.12; "
        "a runtime move is a deliberate change made with the bundle.",
    ),
    Suppression(
        "AwsSolutions-IAM5",
        "*Function/Role/DefaultPolicy/Resource",
        count=20,
        finding=r"Resource::\*",
        reason="X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
        "resource-level permissions, so AWS requires Resource '*'.",
    ),
    Suppression(
        "AwsSolutions-IAM5",
        "*Function/Role/DefaultPolicy/Resource",
        count=12,
        finding=r"Resource::<ArchiveBucket[0-9A-F]{8}\.Arn>/\*",
        reason="Archive objects are written under new keys (date/flow/id), so object access cannot name keys "
        "in advance; only the object actions the hop declares in the topology are allowed, never delete.",
    ),
    Suppression(
        "AwsSolutions-IAM5",
        "CancellationStateMachine/StateMachine/Role/DefaultPolicy/Resource",
        count=1,
        finding=r"Resource::\*",
        reason="X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support no "
        "resource-level permissions, so AWS requires Resource '*'.",
    ),
    Suppression(
        "AwsSolutions-IAM5",
        "CancellationStateMachine/StateMachine/Role/DefaultPolicy/Resource",
        count=6,
        finding=r"Resource::<[A-Za-z]+Function[0-9A-F]{8}\.Arn>:\*",
        reason="Invoke any version or alias of each task's function (CDK's LambdaInvoke grant); the function "
        "itself is named exactly.",
    ),
    Suppression(
        "AwsSolutions-SQS3",
        "*Schedule/DeadLetterQueue/Resource",
        count=7,
        reason="This queue is itself a dead-letter queue (for the EventBridge target and the function's "
        "on-failure destination); cdk-nag only recognises DLQs of other queues.",
    ),
    Suppression("AwsSolutions-APIG4", "WebhookApi/Api/Default/*/POST/Resource", count=2, reason=_NO_AUTHORIZER),
    Suppression("AwsSolutions-COG4", "WebhookApi/Api/Default/*/POST/Resource", count=2, reason=_NO_AUTHORIZER),
    Suppression(
        "AwsSolutions-APIG3",
        "WebhookApi/Api/DeploymentStage.*/Resource",
        count=1,
        reason="No WAF web ACL per client stack: the only routes are webhook receivers behind a shared-secret "
        "check, stage throttling caps abuse, and a web ACL costs more than the rest of the stack. Attach an "
        "account-level WAF if a client requires one.",
    ),
)

ACCOUNT_STACK: tuple[Suppression, ...] = (
    Suppression(
        "AwsSolutions-IAM4",
        "ApiGatewayCloudWatchRole/Resource",
        count=1,
        finding=r"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        reason="AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy for the account-level role "
        "API Gateway uses to write access and execution logs.",
    ),
)


def relative_path(stack: cdk.Stack, construct: Construct) -> str:
    return construct.node.path.removeprefix(stack.node.path + "/")


def apply_suppressions(stack: cdk.Stack, suppressions: tuple[Suppression, ...]) -> None:
    """Attach each listed suppression to every resource of `stack` its path matches (and to no other)."""
    for construct in stack.node.find_all():
        if not isinstance(construct, cdk.CfnResource):
            continue
        path = relative_path(stack, construct)
        chosen = [
            NagPackSuppression(
                id=entry.rule,
                reason=entry.reason,
                applies_to=[RegexAppliesTo(regex=f"/^{entry.finding}$/")] if entry.finding else None,
            )
            for entry in suppressions
            if entry.matches(path)
        ]
        if chosen:
            NagSuppressions.add_resource_suppressions(construct, chosen)
