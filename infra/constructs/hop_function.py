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
from constructs import Construct

from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.naming import pascal
from shared import topology
from shared.config import ClientConfig

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# s3:ListBucket names the bucket; every other S3 action names objects.
_BUCKET_LEVEL = frozenset({topology.LIST_BUCKET})


class HopFunction(Construct):
    """A Python 3.12 arm64 function for `hop`, wired to its queue trigger and granted exactly the actions it
    declares, on exactly the resources it names (shared/wiring.py gives its environment)."""

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
        state_machine_arns: Mapping[str, str],
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.hop = hop
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
            environment=dict(environment),
        )

        for name in hop.sends_to:  # a queue of a pipeline the client does not run is not there (as in wiring)
            if name in queues:
                self._allow([topology.SEND_MESSAGE], [queues[name].queue.queue_arn])
        for name, actions in hop.tables.items():
            table = tables[name]
            self._allow(actions, [table.table_arn])
            indexes = [f"{table.table_arn}/index/{index}" for index, _, _ in topology.table(name).indexes]
            if topology.QUERY in actions and indexes:  # a query may name one of the table's declared indexes
                self._allow([topology.QUERY], indexes)
        for name, actions in hop.buckets.items():
            bucket = buckets[name]
            object_actions = [a for a in actions if a not in _BUCKET_LEVEL]
            if object_actions:  # objects are written under new keys (date/flow/id): no key is known in advance
                self._allow(object_actions, [bucket.arn_for_objects("*")])
            bucket_actions = [a for a in actions if a in _BUCKET_LEVEL]
            if bucket_actions:
                self._allow(bucket_actions, [bucket.bucket_arn])
        for path in hop.secrets:
            secret = secretsmanager.Secret.from_secret_name_v2(
                self, f"Secret{pascal(path.replace('.', '-'))}", topology.config_value(config, path)
            )
            # A secret named without its random suffix: the policy ARN matches any suffix (six characters).
            self._allow([topology.GET_SECRET_VALUE], [f"{secret.secret_arn}-??????"])
        for machine in hop.starts:
            self._allow([topology.START_EXECUTION], [state_machine_arns[machine]])

        if isinstance(hop.trigger, topology.QueueTrigger):
            self._subscribe(queues[hop.trigger.queue], hop.trigger)

    def _allow(self, actions: Sequence[str], resources: Sequence[str]) -> None:
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources)))

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
