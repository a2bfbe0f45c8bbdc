"""DynamoDB tables declared in the topology: on-demand, point-in-time recovery, encrypted, retained."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.naming import pascal
from shared import topology


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Tables(Construct):
    """One table per topology `Table`; `by_name` maps the topology name to the table."""

    def __init__(self, scope: Construct, construct_id: str, *, tables: Iterable[topology.Table]) -> None:
        super().__init__(scope, construct_id)
        self.by_name: dict[str, dynamodb.Table] = {}
        for spec in tables:
            table = dynamodb.Table(
                self,
                pascal(spec.name),
                partition_key=_string_key(spec.partition_key),
                sort_key=_string_key(spec.sort_key) if spec.sort_key else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                time_to_live_attribute=spec.ttl_attribute,
                deletion_protection=True,
                # The ledger and the exceptions are the record of what happened: never deleted with the stack.
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            for index_name, partition_key, sort_key in spec.indexes:
                table.add_global_secondary_index(
                    index_name=index_name,
                    partition_key=_string_key(partition_key),
                    sort_key=_string_key(sort_key),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
            self.by_name[spec.name] = table
