"""Alert topics per owning team, and the alarms that say something is stuck or parked."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from shared.config import AlertsConfig
from shared.topology import MetricAlert
from shared.wiring import METRICS_NAMESPACE

TEAMS: tuple[str, ...] = ("operations", "ecommerce", "finance")
# A message this old in a work queue means the consumer is stuck (healthy hops drain in seconds) or
# failing slowly through its retries; either way someone should look before the order is late.
OLDEST_MESSAGE_ALARM = Duration.minutes(15)
# A parked message expires with the DLQ's 14-day retention: one a week old must be dealt with now.
DEAD_LETTER_AGE_ALARM = Duration.days(7)
ALARM_PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    """One encrypted SNS topic per team (email-subscribed when the config names an address)."""

    def __init__(self, scope: Construct, construct_id: str, *, topic_prefix: str, alerts: AlertsConfig) -> None:
        super().__init__(scope, construct_id)
        self.prefix = topic_prefix
        # Every alarm, for the dashboard's status panel (names are `<prefix>-<what>-<kind>`, see the runbook).
        self.alarms: list[cloudwatch.Alarm] = []
        # A customer managed key, because CloudWatch alarms cannot publish to a topic encrypted with the
        # AWS managed aws/sns key (its key policy cannot grant cloudwatch.amazonaws.com).
        self.key = kms.Key(self, "TopicKey", description=f"{topic_prefix} alert topics", enable_key_rotation=True)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        self.topics: dict[str, sns.Topic] = {}
        for team in TEAMS:
            topic = sns.Topic(
                self,
                f"{team.capitalize()}Topic",
                topic_name=f"{topic_prefix}-{team}",
                display_name=f"Hopline {team} alerts",
                master_key=self.key,
                enforce_ssl=True,
            )
            email = getattr(alerts, f"{team}_email")
            if email:
                topic.add_subscription(subscriptions.EmailSubscription(email))
            self.topics[team] = topic
        self._operations_action = cloudwatch_actions.SnsAction(self.topics["operations"])

    def alarm_on_dead_letters(self, construct_id: str, dlq: sqs.IQueue, *, what: str) -> cloudwatch.Alarm:
        """Any message parked in `dlq` pages operations: it will not move again on its own."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self._name(what, "dead-letters"),
            alarm_description=f"{what}: messages are waiting in the dead-letter queue. Inspect, fix, then "
            "redrive them (console 'Start DLQ redrive' or `hopline redrive`); see docs/runbook.md.",
            metric=dlq.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD, statistic="Maximum"),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return self._page(alarm, self._operations_action)

    def alarm_on_oldest_message(self, construct_id: str, queue: sqs.IQueue, *, what: str) -> cloudwatch.Alarm:
        """The oldest message in a work queue has waited longer than `OLDEST_MESSAGE_ALARM`."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self._name(what, "oldest-message"),
            alarm_description=f"{what}: the oldest message has waited over "
            f"{OLDEST_MESSAGE_ALARM.to_minutes()} minutes; the consumer is stalled or failing.",
            metric=queue.metric_approximate_age_of_oldest_message(period=ALARM_PERIOD, statistic="Maximum"),
            threshold=OLDEST_MESSAGE_ALARM.to_seconds(),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return self._page(alarm, self._operations_action)

    def alarm_on_dead_letter_age(self, construct_id: str, dlq: sqs.IQueue, *, what: str) -> cloudwatch.Alarm:
        """A message has sat in `dlq` for half its retention: redrive or record it before it expires."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self._name(what, "dead-letter-age"),
            alarm_description=f"{what}: a dead-lettered message is over {DEAD_LETTER_AGE_ALARM.to_days()} days old "
            "and expires at 14; redrive it or record why not (docs/runbook.md).",
            metric=dlq.metric_approximate_age_of_oldest_message(period=ALARM_PERIOD, statistic="Maximum"),
            threshold=DEAD_LETTER_AGE_ALARM.to_seconds(),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return self._page(alarm, self._operations_action)

    def alarm_on_metric(
        self, construct_id: str, alert: MetricAlert, *, service: str, threshold: float | None = None
    ) -> cloudwatch.Alarm:
        """A business metric from a hop crossed its threshold: the owning team's topic is told."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self.prefix}-{alert.name}",
            alarm_description=alert.description,
            metric=business_metric(alert, service),
            threshold=alert.threshold if threshold is None else threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return self._page(alarm, cloudwatch_actions.SnsAction(self.topics[alert.team]))

    def _name(self, what: str, kind: str) -> str:
        return f"{self.prefix}-{what.replace('_', '-').replace(' ', '-')}-{kind}"

    def _page(self, alarm: cloudwatch.Alarm, action: cloudwatch_actions.SnsAction) -> cloudwatch.Alarm:
        """Tell the team when it fires and when it clears."""
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)
        return alarm

    def alarm_on_failed_executions(
        self, construct_id: str, metric: cloudwatch.IMetric, *, what: str
    ) -> cloudwatch.Alarm:
        """A state machine execution failed: its exception is in the inbox; fix, then redrive the execution."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self._name(what, "executions-failed"),
            alarm_description=f"{what}: an execution failed after its retries. See the exception inbox (reason "
            "cancel_failed) for what had already happened, fix the cause, then redrive the execution "
            "(console 'Redrive', or aws stepfunctions redrive-execution).",
            metric=metric,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return self._page(alarm, cloudwatch_actions.SnsAction(self.topics["operations"]))


def business_metric(alert: MetricAlert, service: str) -> cloudwatch.Metric:
    """The Powertools EMF metric an alert watches (namespace Hopline, dimension service)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=alert.metric,
        dimensions_map={"service": service},
        period=Duration.minutes(alert.period_minutes),
        statistic=alert.statistic,
    )
