"""One hop as a Lambda function: its code, its trigger from a queue, and exactly the access it declares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.naming import pascal
from shared import topology
from shared.config import CLIENT_CONFIG_ENV, ClientConfig

METRICS_NAMESPACE = "Hopline"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# Object-level and bucket-level S3 actions per declared access; nothing broader (no deletes, no ACLs).
_OBJECT_ACTIONS: dict[str, tuple[str, ...]] = {
    "read": ("s3:GetObject",),
    "write": ("s3:PutObject",),
    "read_write": ("s3:GetObject", "s3:PutObject"),
}
_BUCKET_ACTIONS: dict[str, tuple[str, ...]] = {
    "read": ("s3:ListBucket",),
    "write": (),
    "read_write": ("s3:ListBucket",),
}


def hop_environment(hop: topology.Hop, config: ClientConfig) -> dict[str, str]:
    """The variables every hop reads at run time; queue, table and bucket names are added once those exist."""
    environment = {
        "POWERTOOLS_SERVICE_NAME": f"hopline-{hop.name}",
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": config.log_level,
        "LOG_LEVEL": config.log_level,
        "CLIENT_ID": config.client,
        CLIENT_CONFIG_ENV: config.to_env(),
        topology.PRIORITY_ENV: hop.priority,
    }
    # Secret names only: values are fetched (and cached) at run time, never placed in the environment.
    for path in hop.secrets:
        environment[topology.secret_env(path)] = topology.config_value(config, path)
    return environment


class HopFunction(Construct):
    """A Python 3.12 arm64 function for `hop`, wired to its queue trigger and granted what it declares."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        hop: topology.Hop,
        config: ClientConfig,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        queues: Mapping[str, QueueWithDlq],
        tables: Mapping[str, dynamodb.ITable],
        buckets: Mapping[str, s3.IBucket],
    ) -> None:
        super().__init__(scope, construct_id)
        self.hop = hop
        self._tables = {name: tables[name] for name in hop.tables}
        self._buckets = {name: buckets[name] for name in hop.buckets}
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this one log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Hopline {config.client} {hop.name}",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=hop.description[:256],
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=hop.handler,
            code=code,
            layers=list(layers),
            role=self.role,
            timeout=cdk.Duration.seconds(hop.timeout_seconds),
            memory_size=hop.memory_mb,
            reserved_concurrent_executions=hop.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment=hop_environment(hop, config),
        )

        for name in hop.sends_to:
            queues[name].queue.grant_send_messages(self.role)
            self.function.add_environment(topology.queue_url_env(name), queues[name].queue.queue_url)
        for name, access in hop.tables.items():
            self._grant_table(tables[name], access)
            self.function.add_environment(topology.table_env(name), tables[name].table_name)
        for name, access in hop.buckets.items():
            self._grant_bucket(buckets[name], access)
            self.function.add_environment(topology.bucket_env(name), buckets[name].bucket_name)
        for path in hop.secrets:
            secret = secretsmanager.Secret.from_secret_name_v2(
                self, f"Secret{pascal(path.replace('.', '-'))}", topology.config_value(config, path)
            )
            secret.grant_read(self.role)

        if isinstance(hop.trigger, topology.QueueTrigger):
            self._subscribe(queues[hop.trigger.queue], hop.trigger)
        self._suppress_findings()

    def _subscribe(self, source: QueueWithDlq, trigger: topology.QueueTrigger) -> None:
        window = trigger.max_batching_window_seconds
        reserved = self.hop.reserved_concurrency
        self.function.add_event_source(
            event_sources.SqsEventSource(
                source.queue,
                batch_size=trigger.batch_size,
                max_batching_window=cdk.Duration.seconds(window) if window else None,
                report_batch_item_failures=True,
                # Cap the poller at the reserved concurrency: otherwise SQS keeps invoking a throttled
                # function, and throttled receives count towards maxReceiveCount and push healthy
                # messages into the DLQ. SQS accepts 2-1000 here.
                max_concurrency=reserved if reserved is not None and reserved >= 2 else None,
            )
        )

    def _grant_table(self, table: dynamodb.ITable, access: topology.Access) -> None:
        if access == "read":
            table.grant_read_data(self.role)
        elif access == "write":
            table.grant_write_data(self.role)
        else:
            table.grant_read_write_data(self.role)

    def _grant_bucket(self, bucket: s3.IBucket, access: topology.Access) -> None:
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(_OBJECT_ACTIONS[access]), resources=[bucket.arn_for_objects("*")])
        )
        if _BUCKET_ACTIONS[access]:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(_BUCKET_ACTIONS[access]), resources=[bucket.bucket_arn])
            )

    def _suppress_findings(self) -> None:
        NagSuppressions.add_resource_suppressions(
            self.function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="Pinned to Python 3.12: the dependency layer and the precompiled .pyc files are "
                    "built for 3.12; a runtime move is a deliberate change made with the bundle.",
                )
            ],
        )
        wildcards = {
            "Resource::*": "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support "
            "no resource-level permissions, so AWS requires Resource '*'.",
        }
        for name, bucket in self._buckets.items():
            wildcards[f"Resource::<{_logical_id(bucket)}.Arn>/*"] = (
                f"Objects in the {name} bucket are written under new keys (date/flow/id), so object access "
                "cannot name keys in advance; only s3:GetObject/s3:PutObject are allowed, never delete."
            )
        for name, table in self._tables.items():
            if _has_indexes(table):
                wildcards[f"Resource::<{_logical_id(table)}.Arn>/index/*"] = (
                    f"Queries on the {name} table's own global secondary indexes (declared in the topology)."
                )
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(id="AwsSolutions-IAM5", reason=reason, applies_to=[finding])
                for finding, reason in wildcards.items()
            ],
            apply_to_children=True,
        )


def _logical_id(construct: Construct) -> str:
    element = construct.node.default_child
    assert isinstance(element, cdk.CfnElement)
    return cdk.Stack.of(construct).get_logical_id(element)


def _has_indexes(table: dynamodb.ITable) -> bool:
    """True when table grants include `<table>/index/*` (the table has global secondary indexes)."""
    element = table.node.default_child
    if not isinstance(element, dynamodb.CfnTable):
        return False
    return bool(cdk.Stack.of(table).resolve(element.global_secondary_indexes))
