"""One client brand's deployment, composed from shared/topology.py: nothing here names a hop or queue."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import bundling
from infra.constructs.archive_bucket import AccessLogsBucket, ArchiveBucket
from infra.constructs.dashboard import OperationsDashboard
from infra.constructs.hop_function import HopFunction
from infra.constructs.monitoring import Monitoring
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.schedules import HopSchedule
from infra.constructs.state_machine import HopStateMachine
from infra.constructs.tables import Tables
from infra.constructs.webhook_api import WebhookApi, WebhookRoute
from infra.nag_suppressions import CLIENT_STACK, apply_suppressions
from infra.naming import pascal, physical_name
from shared import topology, wiring
from shared.config import ClientConfig

_EVENTBRIDGE_RULE_NAME_MAX = 64


@jsii.implements(cdk.IStableStringProducer)
class _Later:
    """A value known once a later construct exists (a state machine is built from the functions it invokes,
    while the hop that starts it needs its ARN in its environment)."""

    def __init__(self, produce: Callable[[], str]) -> None:
        self._produce = produce

    def produce(self) -> str:
        return self._produce()


class HoplineClientStack(cdk.Stack):
    """Queues, tables and buckets from the topology, then one function per hop wired to its trigger."""

    def __init__(self, scope: Construct, construct_id: str, *, config: ClientConfig, **kwargs: object) -> None:
        display = config.display_name or config.client
        super().__init__(scope, construct_id, description=f"Hopline integration for {display}", **kwargs)
        client = config.client
        self.config = config
        self.monitoring = Monitoring(self, "Monitoring", topic_prefix=f"hopline-{client}", alerts=config.alerts)

        self.topology = topology.for_config(config)  # only the pipelines this client names
        self.queues: dict[str, QueueWithDlq] = {}
        for spec in self.topology.queues:
            queue = QueueWithDlq(
                self,
                f"{pascal(spec.name)}Queue",
                queue_name=physical_name(client, spec.name),
                visibility_timeout=cdk.Duration.seconds(spec.visibility_timeout_seconds),
                max_receive_count=config.retries.queue_max_receive_count,
            )
            self.monitoring.alarm_on_dead_letters(f"{pascal(spec.name)}DeadLetters", queue.dlq, what=spec.name)
            self.monitoring.alarm_on_oldest_message(f"{pascal(spec.name)}OldestMessage", queue.queue, what=spec.name)
            self.monitoring.alarm_on_dead_letter_age(f"{pascal(spec.name)}DeadLetterAge", queue.dlq, what=spec.name)
            self.queues[spec.name] = queue

        self.tables = Tables(self, "Tables", tables=topology.TABLES).by_name

        access_logs = AccessLogsBucket(self, "AccessLogs", retention_days=config.archive.retention_days)
        self.buckets = {
            spec.name: ArchiveBucket(
                self,
                f"{pascal(spec.name)}Bucket",
                retention_days=config.archive.retention_days,
                access_logs=access_logs.bucket,
                access_logs_prefix=f"{spec.name}/",
            ).bucket
            for spec in topology.BUCKETS
        }

        code = bundling.code_asset()
        dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=bundling.layer_asset(),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Hopline runtime dependencies (requirements.txt) for Python 3.12 on arm64",
        )

        self.state_machines: dict[str, HopStateMachine] = {}
        state_machine_arns = {
            machine.name: cdk.Lazy.string(
                _Later(lambda name=machine.name: self.state_machines[name].state_machine.state_machine_arn)
            )
            for machine in self.topology.state_machines
        }
        self.names = wiring.ResourceNames(
            tables={name: table.table_name for name, table in self.tables.items()},
            queues={name: queue.queue.queue_url for name, queue in self.queues.items()},
            buckets={name: bucket.bucket_name for name, bucket in self.buckets.items()},
            state_machines=state_machine_arns,
        )
        self.functions: dict[str, HopFunction] = {}
        self.schedule_dead_letters: dict[str, sqs.IQueue] = {}
        routes: list[WebhookRoute] = []
        for hop in self.topology.hops:
            function = HopFunction(
                self,
                f"{pascal(hop.name)}Function",
                hop=hop,
                config=config,
                code=code,
                layers=[dependencies],
                queues=self.queues,
                tables=self.tables,
                buckets=self.buckets,
                state_machine_arns=state_machine_arns,
                environment=wiring.hop_environment(config, hop, self.names),
            )
            self.functions[hop.name] = function
            trigger = hop.trigger
            if isinstance(trigger, topology.ApiTrigger):
                routes += [WebhookRoute(r.method, r.path, function.function, r.header) for r in trigger.routes]
            elif isinstance(trigger, topology.ScheduleTrigger):
                rule_name = physical_name(client, hop.name)
                schedule = HopSchedule(
                    self,
                    f"{pascal(hop.name)}Schedule",
                    expression=topology.config_value(config, trigger.expression_field),
                    function=function.function,
                    rule_name=rule_name if len(rule_name) <= _EVENTBRIDGE_RULE_NAME_MAX else None,
                    dead_letter_queue_name=physical_name(client, f"{hop.name}-schedule-dlq"),
                    description=hop.description,
                )
                self.monitoring.alarm_on_dead_letters(
                    f"{pascal(hop.name)}ScheduleDeadLetters", schedule.dlq, what=f"{hop.name} schedule"
                )
                self.schedule_dead_letters[hop.name] = schedule.dlq

        for machine in self.topology.state_machines:
            task_hops = {s.hop for s in machine.states if isinstance(s, topology.TaskState)}
            built = HopStateMachine(
                self,
                f"{pascal(machine.name)}StateMachine",
                machine=machine,
                config=config,
                functions={name: self.functions[name].function for name in sorted(task_hops)},
                state_machine_name=physical_name(client, machine.name),
            )
            self.monitoring.alarm_on_failed_executions(
                f"{pascal(machine.name)}ExecutionsFailed", built.failures(), what=f"{machine.name} state machine"
            )
            self.state_machines[machine.name] = built

        thresholds = {
            alert.name: float(topology.config_value(config, alert.threshold_field))
            if alert.threshold_field
            else alert.threshold
            for alert in self.topology.alerts
        }
        for alert in self.topology.alerts:
            self.monitoring.alarm_on_metric(
                f"{pascal(alert.name)}Alarm", alert, service=f"hopline-{alert.hop}", threshold=thresholds[alert.name]
            )

        self.dashboard = OperationsDashboard(
            self,
            "Operations",
            dashboard_name=physical_name(client, "operations"),
            title=f"Hopline: {display}",
            functions={name: function.function for name, function in self.functions.items()},
            queues=self.queues,
            schedule_dead_letters=self.schedule_dead_letters,
            alerts=self.topology.alerts,
            alarms=self.monitoring.alarms,
            thresholds=thresholds,
        ).dashboard

        self.routes = tuple(self.topology.routes)
        if routes:
            self.webhook_api = WebhookApi(self, "WebhookApi", api_name=physical_name(client, "webhooks"), routes=routes)
        self._subscriptions()
        self._outputs()
        apply_suppressions(self, CLIENT_STACK)

    def _subscriptions(self) -> None:
        """Platforms that deliver into a queue themselves: only the configured sender may, and only there."""
        for sub in self.topology.subscriptions:
            queue = self.queues[sub.queue].queue
            name = f"{pascal(sub.platform)}{pascal(sub.channel.name)}"
            if sub.channel.delivery == "sqs":
                queue.add_to_resource_policy(
                    iam.PolicyStatement(
                        sid=f"Subscription{name}",
                        principals=[iam.ArnPrincipal(sub.principal)],
                        actions=[topology.SEND_MESSAGE],
                        resources=[queue.queue_arn],
                    )
                )
            else:  # eventbridge: the platform's partner event source is its own bus; one rule onto the queue
                bus = events.EventBus.from_event_bus_name(self, f"{name}EventBus", sub.principal)
                events.Rule(
                    self,
                    f"{name}Subscription",
                    event_bus=bus,
                    description=sub.channel.purpose[:512],
                    event_pattern=events.EventPattern(source=[sub.principal]),
                    targets=[targets.SqsQueue(queue)],
                )

    def _outputs(self) -> None:
        """What the ops command and runbooks look up with describe-stacks."""
        for route in self.routes:
            spec = self.config.spec(route.platform)
            channel = spec.channel(route.channel)
            where = channel.register_in if channel is not None and channel.register_in else "its webhook settings"
            cdk.CfnOutput(
                self,
                f"WebhookUrl{pascal(route.platform)}{pascal(route.channel)}",
                value=self.webhook_api.api.url_for_path(route.path),
                description=f"The {route.channel} webhook of {route.platform}: register it in {spec.title} {where}"[
                    :1024
                ],
            )
        for name, queue in self.queues.items():
            cdk.CfnOutput(self, f"QueueUrl{pascal(name)}", value=queue.queue.queue_url)
            cdk.CfnOutput(self, f"DeadLetterQueueUrl{pascal(name)}", value=queue.dlq.queue_url)
        for name, table in self.tables.items():
            cdk.CfnOutput(self, f"Table{pascal(name)}", value=table.table_name)
        for name, bucket in self.buckets.items():
            cdk.CfnOutput(self, f"Bucket{pascal(name)}", value=bucket.bucket_name)
        for name, machine in self.state_machines.items():
            cdk.CfnOutput(self, f"StateMachineArn{pascal(name)}", value=machine.state_machine.state_machine_arn)
        for team, topic in self.monitoring.topics.items():
            cdk.CfnOutput(self, f"AlertTopic{pascal(team)}", value=topic.topic_arn)
        cdk.CfnOutput(self, "DashboardName", value=self.dashboard.dashboard_name)
