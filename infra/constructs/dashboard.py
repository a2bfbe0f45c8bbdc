"""One CloudWatch dashboard per client stack, built from the topology: a new hop, queue or alert appears
on it without a change here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.monitoring import business_metric
from infra.constructs.queue_with_dlq import QueueWithDlq
from shared.latency import LATENCY_STAGES, METRIC
from shared.topology import MetricAlert
from shared.wiring import METRICS_NAMESPACE

PERIOD = Duration.minutes(5)
GRAPH_WIDTH = 8  # three graphs per 24-unit row
GRAPH_HEIGHT = 6


class OperationsDashboard(Construct):
    """Alarm status, then per hop (invocations, errors, duration), per queue (waiting, in flight, age, DLQ),
    business metrics (the orders backlog among them) and latency by stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        title: str,
        functions: Mapping[str, lambda_.IFunction],
        queues: Mapping[str, QueueWithDlq],
        schedule_dead_letters: Mapping[str, sqs.IQueue],
        alerts: Sequence[MetricAlert],
        alarms: Sequence[cloudwatch.IAlarm],
        thresholds: Mapping[str, float],
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name, default_interval=Duration.hours(6)
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# {title}\nAlarms page the owning team's SNS topic. What each alarm means and what to do "
                "first: `docs/runbook.md`. Inbox: `hopline exceptions --client <client>`.",
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(alarms), width=24, height=max(3, 1 + len(alarms) // 4)
            )
        )
        self._section(
            "Hops: invocations, errors, duration",
            [
                cloudwatch.GraphWidget(
                    title=name,
                    width=GRAPH_WIDTH,
                    height=GRAPH_HEIGHT,
                    left=[
                        function.metric_invocations(period=PERIOD, statistic="Sum"),
                        function.metric_errors(period=PERIOD, statistic="Sum"),
                        function.metric_throttles(period=PERIOD, statistic="Sum"),
                    ],
                    right=[function.metric_duration(period=PERIOD, statistic="p95", label="duration p95 (ms)")],
                )
                for name, function in functions.items()
            ],
        )
        queue_widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"{name} queue",
                width=GRAPH_WIDTH,
                height=GRAPH_HEIGHT,
                left=[
                    queue.queue.metric_approximate_number_of_messages_visible(period=PERIOD, label="waiting"),
                    # Held by a consumer: at peak, one waiting for a token of the platform's shared rate budget.
                    queue.queue.metric_approximate_number_of_messages_not_visible(period=PERIOD, label="in flight"),
                    queue.dlq.metric_approximate_number_of_messages_visible(period=PERIOD, label="in DLQ"),
                ],
                right=[queue.queue.metric_approximate_age_of_oldest_message(period=PERIOD, label="oldest (s)")],
            )
            for name, queue in queues.items()
        ]
        if schedule_dead_letters:
            queue_widgets.append(
                cloudwatch.GraphWidget(
                    title="failed scheduled runs (schedule DLQs)",
                    width=GRAPH_WIDTH,
                    height=GRAPH_HEIGHT,
                    left=[
                        dlq.metric_approximate_number_of_messages_visible(period=PERIOD, label=hop)
                        for hop, dlq in schedule_dead_letters.items()
                    ],
                )
            )
        self._section("Queues: waiting, oldest message, dead letters", queue_widgets)
        self._section(
            "Business metrics (alerts)",
            [
                cloudwatch.GraphWidget(
                    title=alert.name,
                    width=GRAPH_WIDTH,
                    height=GRAPH_HEIGHT,
                    left=[business_metric(alert, f"hopline-{alert.hop}")],
                    left_annotations=[
                        cloudwatch.HorizontalAnnotation(value=thresholds[alert.name], label="alarm above")
                    ],
                )
                for alert in alerts
            ],
        )
        self._section(
            "Latency by stage (seconds)",
            [
                cloudwatch.GraphWidget(
                    title=f"{stage}",
                    width=GRAPH_WIDTH,
                    height=GRAPH_HEIGHT,
                    left=[
                        cloudwatch.Metric(
                            namespace=METRICS_NAMESPACE,
                            metric_name=METRIC,
                            dimensions_map={"service": f"hopline-{hop}", "stage": stage},
                            period=PERIOD,
                            statistic=statistic,
                            label=statistic,
                        )
                        for statistic in ("p50", "p95", "Maximum")
                    ],
                )
                for stage, hop in LATENCY_STAGES.items()
            ],
        )

    def _section(self, heading: str, widgets: Sequence[cloudwatch.IWidget]) -> None:
        if not widgets:
            return
        self.dashboard.add_widgets(cloudwatch.TextWidget(markdown=f"## {heading}", width=24, height=1))
        for start in range(0, len(widgets), 24 // GRAPH_WIDTH):
            self.dashboard.add_widgets(*widgets[start : start + 24 // GRAPH_WIDTH])
