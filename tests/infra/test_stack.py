"""The synthesized client stack: what an operator relies on, checked against the topology it came from."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import ManualArgs, lint_file
from moto import mock_aws

from app import build_app
from infra.nag_suppressions import CLIENT_STACK
from infra.stack import HoplineClientStack
from sandbox.local import MOTO_CONFIG, LocalHopline
from shared import topology
from shared.clock import VirtualClock
from shared.config import ClientConfig, config_for_client
from tests.infra.nag_report import problems, suppressed_by_rule

pytestmark = pytest.mark.infra

CLIENT = "example-cin7-scend"
# The hops as the example client deploys them: the receiver with the routes, queues and secrets of its channels.
DEPLOYED = topology.for_config(config_for_client(CLIENT))
HOPS = DEPLOYED.hops
# W3005: CDK writes DependsOn next to a GetAtt that already implies it; redundant, harmless.
IGNORED_LINT_RULES = {"W3005"}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, Template, Path]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # Skipping bundling keeps the synth offline and fast; the assets are exercised by `make synth`.
    app = build_app(CLIENT, context={"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    stack = app.node.find_child(f"hopline-{CLIENT}")
    assert isinstance(stack, cdk.Stack)
    template = Template.from_stack(stack)
    return stack, template, outdir / stack.template_file


@pytest.fixture(scope="module")
def template(synthesized: tuple[cdk.Stack, Template, Path]) -> Template:
    return synthesized[1]


@pytest.fixture(scope="module")
def resources(template: Template) -> dict[str, Any]:
    return template.to_json()["Resources"]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: value.get("Properties", {}) for key, value in resources.items() if value["Type"] == kind}


def getatt_target(value: Any) -> str:
    """The logical id in {"Fn::GetAtt": [id, attr]} or {"Ref": id}."""
    if "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return value["Ref"]


def dead_letter_queues(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: props for key, props in of_type(resources, "AWS::SQS::Queue").items() if "RedriveAllowPolicy" in props}


def function_by_handler(resources: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {props["Handler"]: (key, props) for key, props in of_type(resources, "AWS::Lambda::Function").items()}


def test_every_work_queue_redrives_to_a_dlq_that_allows_it_back(
    resources: dict[str, Any], example_config: ClientConfig
) -> None:
    # Given the synthesized queues
    queues = of_type(resources, "AWS::SQS::Queue")
    dlqs = dead_letter_queues(resources)
    work_queues = {key: props for key, props in queues.items() if key not in dlqs}
    assert len(work_queues) == len(DEPLOYED.queues)
    for props in work_queues.values():
        # Then each work queue parks poison messages after the configured deliveries
        redrive = props["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == example_config.retries.queue_max_receive_count
        target = getatt_target(redrive["deadLetterTargetArn"])
        assert target in dlqs
        # And its DLQ names it as the only source, so "Start DLQ redrive" can move messages back
        allow = dlqs[target]["RedriveAllowPolicy"]
        assert allow["redrivePermission"] == "byQueue"
        (source_arn,) = allow["sourceQueueArns"]
        parts = source_arn["Fn::Join"][1]
        assert parts[0].startswith("arn:aws:sqs:") and parts[-1] == f":{props['QueueName']}"
    # And a DLQ that is nobody's redrive target accepts no source queue at all
    targets = {getatt_target(p["RedrivePolicy"]["deadLetterTargetArn"]) for p in work_queues.values()}
    for key, props in dlqs.items():
        if key not in targets:
            assert props["RedriveAllowPolicy"] == {"redrivePermission": "denyAll"}


def test_every_queue_is_encrypted_tls_only_with_the_agreed_retention(resources: dict[str, Any]) -> None:
    dlqs = dead_letter_queues(resources)
    for key, props in of_type(resources, "AWS::SQS::Queue").items():
        assert props["SqsManagedSseEnabled"] is True
        assert props["MessageRetentionPeriod"] == (14 if key in dlqs else 4) * 86400
    policies = of_type(resources, "AWS::SQS::QueuePolicy")
    tls_denied = {
        getatt_target(queue)
        for props in policies.values()
        for statement in props["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in props["Queues"]
    }
    assert tls_denied == set(of_type(resources, "AWS::SQS::Queue"))


def test_every_event_source_mapping_reports_batch_item_failures(resources: dict[str, Any]) -> None:
    mappings = of_type(resources, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == sum(isinstance(hop.trigger, topology.QueueTrigger) for hop in HOPS)
    for props in mappings.values():
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_each_event_source_mapping_takes_its_hops_batch_and_the_stock_pushers_window_from_the_config(
    resources: dict[str, Any],
) -> None:
    # The example client gathers the stock pusher's messages for event_window_seconds (one read per window)
    settings = config_for_client(CLIENT).stock
    assert settings.event_window_seconds > 0
    functions = of_type(resources, "AWS::Lambda::Function")
    by_handler = {hop.handler: hop for hop in HOPS}
    seen = set()
    for props in of_type(resources, "AWS::Lambda::EventSourceMapping").values():
        hop = by_handler[functions[getatt_target(props["FunctionName"])]["Handler"]]
        assert isinstance(hop.trigger, topology.QueueTrigger)
        seen.add(hop.name)
        assert props["BatchSize"] == hop.trigger.batch_size
        if hop.name == "push_stock":
            assert props["MaximumBatchingWindowInSeconds"] == settings.event_window_seconds
            assert props["BatchSize"] == settings.messages_per_invocation
        else:
            assert "MaximumBatchingWindowInSeconds" not in props
    assert "push_stock" in seen


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(resources: dict[str, Any]) -> None:
    queues = of_type(resources, "AWS::SQS::Queue")
    functions = of_type(resources, "AWS::Lambda::Function")
    for props in of_type(resources, "AWS::Lambda::EventSourceMapping").values():
        queue = queues[getatt_target(props["EventSourceArn"])]
        consumer = functions[getatt_target(props["FunctionName"])]
        assert queue["VisibilityTimeout"] >= 6 * consumer["Timeout"]


def test_every_table_is_on_demand_recoverable_and_encrypted(resources: dict[str, Any]) -> None:
    tables = of_type(resources, "AWS::DynamoDB::Table")
    assert len(tables) == len(topology.TABLES)
    for props in tables.values():
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
    retained = [key for key, value in resources.items() if value["Type"] == "AWS::DynamoDB::Table"]
    assert all(resources[key]["DeletionPolicy"] == "Retain" for key in retained)
    # TTL attributes and indexes exactly as the topology declares them
    declared_ttl = sorted(t.ttl_attribute for t in topology.TABLES if t.ttl_attribute)
    synthesized_ttl = sorted(
        p["TimeToLiveSpecification"]["AttributeName"] for p in tables.values() if "TimeToLiveSpecification" in p
    )
    assert synthesized_ttl == declared_ttl
    declared_indexes = sorted(index[0] for t in topology.TABLES for index in t.indexes)
    synthesized_indexes = sorted(i["IndexName"] for p in tables.values() for i in p.get("GlobalSecondaryIndexes", []))
    assert synthesized_indexes == declared_indexes


def test_one_function_per_hop_on_python_312_or_later_with_tracing_and_retained_logs(resources: dict[str, Any]) -> None:
    functions = function_by_handler(resources)
    assert len(of_type(resources, "AWS::Lambda::Function")) == len(HOPS)
    assert set(functions) == {hop.handler for hop in HOPS}
    log_groups = of_type(resources, "AWS::Logs::LogGroup")
    for hop in HOPS:
        _, props = functions[hop.handler]
        major, minor = (int(part) for part in props["Runtime"].removeprefix("python").split("."))
        assert (major, minor) >= (3, 12)
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Timeout"] == hop.timeout_seconds
        assert props["MemorySize"] == hop.memory_mb
        assert props.get("ReservedConcurrentExecutions") == hop.reserved_concurrency
        log_group = log_groups[getatt_target(props["LoggingConfig"]["LogGroup"])]
        assert log_group["RetentionInDays"] > 0


def test_function_environment_names_what_the_hop_declares_and_never_a_secret_value(
    resources: dict[str, Any], example_config: ClientConfig
) -> None:
    functions = function_by_handler(resources)
    for hop in HOPS:
        variables = functions[hop.handler][1]["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == f"hopline-{hop.name}"
        assert variables["CLIENT_ID"] == example_config.client
        assert ClientConfig.model_validate_json(variables["HOPLINE_CLIENT_CONFIG"]) == example_config
        expected = {topology.queue_url_env(q) for q in hop.sends_to}
        expected |= {topology.table_env(t) for t in hop.tables}
        expected |= {topology.bucket_env(b) for b in hop.buckets}
        expected |= {topology.secret_env(s) for s in hop.secrets}
        wired = {name for name in variables if name.startswith(("QUEUE_URL_", "TABLE_", "BUCKET_", "SECRET_"))}
        assert wired == expected
        for path in hop.secrets:
            assert variables[topology.secret_env(path)] == topology.config_value(example_config, path)


def test_each_hop_may_send_only_to_the_queues_it_declares(resources: dict[str, Any]) -> None:
    functions = function_by_handler(resources)
    roles_policies = of_type(resources, "AWS::IAM::Policy")
    queue_names = {key: props.get("QueueName") for key, props in of_type(resources, "AWS::SQS::Queue").items()}
    for hop in HOPS:
        role = getatt_target(functions[hop.handler][1]["Role"])
        sendable = {
            queue_names[getatt_target(resource)]
            for props in roles_policies.values()
            if role in [r["Ref"] for r in props["Roles"]]
            for statement in props["PolicyDocument"]["Statement"]
            if "sqs:SendMessage" in _as_list(statement["Action"])
            for resource in _as_list(statement["Resource"])
        }
        work_queues = {name for name in sendable if not name.endswith("-dlq")}
        assert work_queues == {f"hopline-{CLIENT}-{name}" for name in hop.sends_to}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _identity_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    statements = []
    for props in of_type(resources, "AWS::IAM::Policy").values():
        statements += props["PolicyDocument"]["Statement"]
    for props in of_type(resources, "AWS::IAM::ManagedPolicy").values():
        statements += props["PolicyDocument"]["Statement"]
    for props in of_type(resources, "AWS::IAM::Role").values():
        for policy in props.get("Policies", []):
            statements += policy["PolicyDocument"]["Statement"]
    return statements


# Step Functions logging to CloudWatch Logs goes through log delivery, whose actions take no resource.
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}


def test_no_identity_policy_grants_wildcard_actions_or_resources_beyond_xray(resources: dict[str, Any]) -> None:
    statements = _identity_statements(resources)
    assert statements
    for statement in statements:
        actions = _as_list(statement["Action"])
        assert "*" not in actions
        assert not [action for action in actions if action.endswith(":*")], statement
        if "*" in _as_list(statement["Resource"]):
            assert all(action.startswith("xray:") or action in LOG_DELIVERY_ACTIONS for action in actions), statement


def test_the_schedule_runs_the_configured_expression_and_parks_failures(
    resources: dict[str, Any], example_config: ClientConfig
) -> None:
    rules = of_type(resources, "AWS::Events::Rule")
    functions = function_by_handler(resources)
    dlqs = dead_letter_queues(resources)
    scheduled = [hop for hop in HOPS if isinstance(hop.trigger, topology.ScheduleTrigger)]
    assert len(rules) == len(scheduled)
    for hop in scheduled:
        assert isinstance(hop.trigger, topology.ScheduleTrigger)
        expression = topology.config_value(example_config, hop.trigger.expression_field)
        function_id = functions[hop.handler][0]
        (rule,) = [r for r in rules.values() if getatt_target(r["Targets"][0]["Arn"]) == function_id]
        assert rule["ScheduleExpression"] == expression
        target = rule["Targets"][0]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert getatt_target(target["DeadLetterConfig"]["Arn"]) in dlqs


def test_an_alarm_watches_every_dlq_and_every_work_queue_age(resources: dict[str, Any]) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    dlqs = dead_letter_queues(resources)
    work_queues = set(of_type(resources, "AWS::SQS::Queue")) - set(dlqs)

    def watched(metric: str) -> set[str]:
        return {
            getatt_target(dimension["Value"])
            for props in alarms.values()
            if props.get("MetricName") == metric
            for dimension in props.get("Dimensions", [])
            if dimension["Name"] == "QueueName"
        }

    assert watched("ApproximateNumberOfMessagesVisible") == set(dlqs)
    # Every work queue's oldest message, and every redrivable DLQ's (a parked message expires at 14 days)
    redrivable = {key for key, props in dlqs.items() if props["RedriveAllowPolicy"]["redrivePermission"] == "byQueue"}
    assert watched("ApproximateAgeOfOldestMessage") == work_queues | redrivable
    topics = of_type(resources, "AWS::SNS::Topic")
    operations = next(key for key, props in topics.items() if props["TopicName"].endswith("-operations"))
    for props in alarms.values():
        assert props["Threshold"] >= 0
        if any(d["Name"] == "QueueName" for d in props.get("Dimensions", [])):  # queue alarms page operations
            assert [getatt_target(action) for action in props["AlarmActions"]] == [operations]


def test_alert_topics_are_encrypted_and_email_the_configured_team(
    resources: dict[str, Any], example_config: ClientConfig
) -> None:
    topics = of_type(resources, "AWS::SNS::Topic")
    assert sorted(props["TopicName"].rsplit("-", 1)[1] for props in topics.values()) == [
        "ecommerce",
        "finance",
        "operations",
    ]
    assert all("KmsMasterKeyId" in props for props in topics.values())
    subscriptions = of_type(resources, "AWS::SNS::Subscription")
    configured = {value for value in example_config.alerts.model_dump().values() if value}
    assert {props["Endpoint"] for props in subscriptions.values()} == configured


def test_archive_bucket_is_private_encrypted_versioned_and_expires_after_retention(
    resources: dict[str, Any], example_config: ClientConfig
) -> None:
    buckets = of_type(resources, "AWS::S3::Bucket")
    archive = {key: props for key, props in buckets.items() if "LoggingConfiguration" in props}
    assert len(archive) == len(topology.BUCKETS)
    for props in buckets.values():
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    for props in archive.values():
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        expirations = [rule.get("ExpirationInDays") for rule in props["LifecycleConfiguration"]["Rules"]]
        assert example_config.archive.retention_days in expirations


def test_webhook_api_is_throttled_logged_and_has_one_resource_per_route_requiring_its_header(
    synthesized: tuple[cdk.Stack, Template, Path], resources: dict[str, Any]
) -> None:
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    (settings,) = stage["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    assert "DestinationArn" in stage["AccessLogSetting"]
    functions = {key: props["Handler"] for key, props in of_type(resources, "AWS::Lambda::Function").items()}
    api_resources = of_type(resources, "AWS::ApiGateway::Resource")

    def path_of(resource_id: str) -> str:
        props = api_resources[resource_id]
        parent = props["ParentId"]
        head = path_of(parent["Ref"]) if isinstance(parent, dict) and "Ref" in parent else ""
        return f"{head}/{props['PathPart']}"

    # Given the methods API Gateway holds: their path, handler and the headers they require
    routed = set()
    for props in of_type(resources, "AWS::ApiGateway::Method").values():
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert "RequestValidatorId" in props
        uri_parts = props["Integration"]["Uri"]["Fn::Join"][1]
        (function_id,) = [getatt_target(part) for part in uri_parts if isinstance(part, dict)]
        routed.add(
            (
                props["HttpMethod"],
                path_of(props["ResourceId"]["Ref"]),
                functions[function_id],
                tuple(props["RequestParameters"]),
            )
        )
    # Then they are exactly the derived routes, each into the one receiver and requiring its channel's header
    receiver = next(h for h in HOPS if h.name == topology.WEBHOOK_RECEIVER)
    assert routed == {
        ("POST", "/webhooks/cin7/sales", receiver.handler, ("method.request.header.X-Hopline-Webhook-Secret",)),
        ("POST", "/webhooks/cin7/stock", receiver.handler, ("method.request.header.X-Hopline-Webhook-Secret",)),
    }
    # And only real routes exist: no path variable or catch-all resource
    assert all("{" not in props["PathPart"] for props in api_resources.values())


def test_each_webhook_route_has_an_output_saying_where_to_register_it(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    urls = {key: value for key, value in outputs.items() if key.startswith("WebhookUrl")}
    assert sorted(urls) == ["WebhookUrlCin7Sales", "WebhookUrlCin7Stock"]
    assert "Sale/OrderAuthorised" in urls["WebhookUrlCin7Sales"]["Description"]
    assert "Stock/AvailableStockLevelChanged" in urls["WebhookUrlCin7Stock"]["Description"]
    for key, output in urls.items():
        assert "Cin7 Core" in output["Description"], key
        joined = json.dumps(output["Value"])
        assert joined.endswith('"/webhooks/cin7/sales"]]}') or joined.endswith('"/webhooks/cin7/stock"]]}'), joined


def test_cfn_lint_finds_no_errors(synthesized: tuple[cdk.Stack, Template, Path]) -> None:
    matches = lint_file(synthesized[2], config=ManualArgs(regions=["eu-west-2"]))
    findings = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in IGNORED_LINT_RULES]
    assert findings == []


def test_cdk_nag_leaves_no_unsuppressed_finding(synthesized: tuple[cdk.Stack, Template, Path]) -> None:
    annotations = Annotations.from_stack(synthesized[0])
    assert annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) == []
    assert annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*")) == []


def test_cdk_nag_suppresses_exactly_the_pinned_list(synthesized: tuple[cdk.Stack, Template, Path]) -> None:
    # Given cdk-nag's report of the synthesized stack (every finding: compliant, suppressed or not)
    stack, template, path = synthesized
    # Then every suppressed finding is covered by exactly one pinned entry, each entry covers its count,
    # and no resource carries a suppression the list does not hold
    assert problems(path.parent, stack, template.to_json(), CLIENT_STACK) == []
    from tests.infra.nag_report import report_rows

    assert sum(suppressed_by_rule(report_rows(path.parent, stack)).values()) == sum(e.count for e in CLIENT_STACK)


# -- the local run is the deployed wiring: environment and grants ------------------------------------


@pytest.fixture(scope="module")
def sandbox(example_config: ClientConfig) -> Iterator[LocalHopline]:
    """The topology's resources created on moto by the sandbox (no platform is called)."""
    with mock_aws(config=MOTO_CONFIG):
        local = LocalHopline(example_config, VirtualClock())
        local.start()
        yield local


def test_every_hop_carries_the_same_environment_in_the_stack_as_in_the_local_run(
    synthesized: tuple[cdk.Stack, Template, Path], resources: dict[str, Any], sandbox: LocalHopline
) -> None:
    stack = synthesized[0]
    assert isinstance(stack, HoplineClientStack)

    def ref(construct: Any) -> dict[str, str]:
        return {"Ref": stack.get_logical_id(construct.node.default_child)}

    # Given each sandbox resource's name and the template reference to the same topology resource
    deployed_as: dict[str, Any] = {}
    deployed_as |= {sandbox.names.tables[n]: ref(t) for n, t in stack.tables.items()}
    deployed_as |= {sandbox.names.queues[n]: ref(q.queue) for n, q in stack.queues.items()}
    deployed_as |= {sandbox.names.buckets[n]: ref(b) for n, b in stack.buckets.items()}
    deployed_as |= {sandbox.names.state_machines[n]: ref(m.state_machine) for n, m in stack.state_machines.items()}
    functions = function_by_handler(resources)
    for hop in HOPS:
        # When the sandbox builds the runtime it invokes the hop with
        given = sandbox.hop_runtime(hop.name).environment
        # Then that is the hop's wiring, and the deployed function carries the same variables, naming the same
        # resources (a name in the sandbox, a reference in the template), and nothing else
        assert given == sandbox.hop_environment(hop.name)
        deployed = functions[hop.handler][1]["Environment"]["Variables"]
        assert deployed == {key: deployed_as.get(value, value) for key, value in given.items()}, hop.name


# What every function's role holds because it is a Lambda function, not because of what its code does.
TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
LOGGING = {"logs:CreateLogStream", "logs:PutLogEvents"}
QUEUE_POLLING = {
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
}
FAILURE_DESTINATION = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}


def test_each_hop_role_allows_exactly_the_actions_its_topology_declares(
    synthesized: tuple[cdk.Stack, Template, Path], resources: dict[str, Any], example_config: ClientConfig
) -> None:
    stack = synthesized[0]
    assert isinstance(stack, HoplineClientStack)

    def key(value: Any) -> str:
        return json.dumps(stack.resolve(value), sort_keys=True)

    functions = function_by_handler(resources)
    policies = of_type(resources, "AWS::IAM::Policy")
    for hop in HOPS:
        # Given what the synthesized policies of the hop's role allow, resource by resource
        role = getatt_target(functions[hop.handler][1]["Role"])
        granted: dict[str, set[str]] = defaultdict(set)
        for policy in policies.values():
            if role in [r["Ref"] for r in policy["Roles"]]:
                for statement in policy["PolicyDocument"]["Statement"]:
                    assert statement["Effect"] == "Allow"
                    for resource in _as_list(statement["Resource"]):
                        granted[json.dumps(resource, sort_keys=True)].update(_as_list(statement["Action"]))
        # Then they are the hop's declared grants, on exactly its resources
        expected: dict[str, set[str]] = defaultdict(set)
        for name, actions in hop.tables.items():
            arn = stack.tables[name].table_arn
            expected[key(arn)] |= set(actions)
            if topology.QUERY in actions:
                for index, _, _ in topology.table(name).indexes:
                    expected[key(f"{arn}/index/{index}")].add(topology.QUERY)
        for name, actions in hop.buckets.items():
            bucket = stack.buckets[name]
            if set(actions) - {topology.LIST_BUCKET}:
                expected[key(bucket.arn_for_objects("*"))] |= set(actions) - {topology.LIST_BUCKET}
            if topology.LIST_BUCKET in actions:
                expected[key(bucket.bucket_arn)].add(topology.LIST_BUCKET)
        for name in hop.sends_to:
            expected[key(stack.queues[name].queue.queue_arn)].add(topology.SEND_MESSAGE)
        for path in hop.secrets:
            secret = stack.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=f"{topology.config_value(example_config, path)}-??????",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            expected[key(secret)].add(topology.GET_SECRET_VALUE)
        for name in hop.starts:
            expected[key(stack.state_machines[name].state_machine.state_machine_arn)].add(topology.START_EXECUTION)
        # And what Lambda itself needs: tracing, its own log group, polling its trigger queue, its failure DLQ
        function = stack.functions[hop.name]
        expected[json.dumps("*")] |= TRACING
        expected[key(function.log_group.log_group_arn)] |= LOGGING
        if isinstance(hop.trigger, topology.QueueTrigger):
            expected[key(stack.queues[hop.trigger.queue].queue.queue_arn)] |= QUEUE_POLLING
        if hop.name in stack.schedule_dead_letters:
            expected[key(stack.schedule_dead_letters[hop.name].queue_arn)] |= FAILURE_DESTINATION
        assert dict(granted) == dict(expected), hop.name


def test_every_declared_metric_alert_has_an_alarm_to_its_team(template: Template) -> None:
    # Given the business-metric alerts declared in the topology

    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    by_metric = {props["Properties"].get("MetricName"): props["Properties"] for props in alarms.values()}
    for alert in DEPLOYED.alerts:
        # Then each has an alarm on the hop's metric, in the Powertools namespace, with the service dimension
        alarm = by_metric[alert.metric]
        assert alarm["Namespace"] == "Hopline"
        assert alarm["Dimensions"] == [{"Name": "service", "Value": f"hopline-{alert.hop}"}]
        assert alarm["Threshold"] == alert.threshold
        topics = template.find_resources("AWS::SNS::Topic")
        [team_topic] = [
            key for key, props in topics.items() if props["Properties"]["TopicName"].endswith(f"-{alert.team}")
        ]
        assert alarm["AlarmActions"] == [{"Ref": team_topic}]


def test_every_hop_that_calls_a_platform_shares_its_budget_table_and_declares_its_priority(
    resources: dict[str, Any],
) -> None:
    functions = function_by_handler(resources)
    budget_env = topology.table_env(topology.BUDGET_TABLE)
    for hop in HOPS:
        _, props = functions[hop.handler]
        variables = props["Environment"]["Variables"]
        assert variables[topology.PRIORITY_ENV] == hop.priority, hop.name
        if any(path.endswith("credentials_secret") for path in hop.secrets):
            assert budget_env in variables, hop.name
    assert {h.name for h in HOPS if h.priority == "background"} >= {
        "read_stock",
        "push_stock",
        "reconcile_stock",
        "sync_product",
    }


def test_every_alarm_has_a_stable_name_an_operator_can_look_up_in_the_runbook(
    resources: dict[str, Any], example_config: ClientConfig
) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    names = {props["AlarmName"] for props in alarms.values()}
    prefix = f"hopline-{example_config.client}-"
    assert len(names) == len(alarms)
    assert all(name.startswith(prefix) for name in names)
    # One depth alarm per DLQ (work queues and schedules), an age alarm per work queue and its DLQ, one per alert
    scheduled = [h.name for h in HOPS if isinstance(h.trigger, topology.ScheduleTrigger)]
    expected = {
        f"{prefix}{q.name}-{kind}"
        for q in DEPLOYED.queues
        for kind in ("dead-letters", "oldest-message", "dead-letter-age")
    }
    expected |= {f"{prefix}{hop.replace('_', '-')}-schedule-dead-letters" for hop in scheduled}
    expected |= {f"{prefix}{alert.name}" for alert in DEPLOYED.alerts}
    expected |= {f"{prefix}{machine.name}-state-machine-executions-failed" for machine in DEPLOYED.state_machines}
    assert names == expected


def test_monitor_alerts_page_operations_within_minutes_and_the_quarantine_rate_uses_the_config(
    template: Template, example_config: ClientConfig
) -> None:
    alarms = {
        props["Properties"]["AlarmName"]: props["Properties"]
        for props in template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    prefix = f"hopline-{example_config.client}-"
    for name in ("orders-stalled", "orders-mismatched"):
        assert alarms[prefix + name]["Period"] == 60
        assert alarms[prefix + name]["Dimensions"] == [{"Name": "service", "Value": "hopline-monitor_orders"}]
    rate = alarms[prefix + "quarantine-rate"]
    assert (rate["MetricName"], rate["Statistic"], rate["Period"]) == ("ExceptionsRaised", "Sum", 900)
    assert rate["Threshold"] == example_config.monitoring.quarantine_alarm_threshold


def test_one_dashboard_shows_every_hop_queue_alert_and_stage_latency(
    template: Template, resources: dict[str, Any], example_config: ClientConfig
) -> None:
    import json

    from shared.latency import LATENCY_STAGES

    [dashboard] = of_type(resources, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["DashboardName"] == f"hopline-{example_config.client}-operations"
    body = json.dumps(dashboard["DashboardBody"])
    functions = of_type(resources, "AWS::Lambda::Function")
    # Every hop's function is drawn (the body references each function by its logical id)
    for key in functions:
        assert key in body, key
    # Every work queue and DLQ, every alert's metric, every latency stage, and the alarm panel
    for key in of_type(resources, "AWS::SQS::Queue"):
        assert key in body, key
    for alert in DEPLOYED.alerts:
        assert f'\\"{alert.metric}\\"' in body, alert.metric
    for stage in LATENCY_STAGES:
        assert f'\\"stage\\",\\"{stage}\\"' in body, stage
    assert "StageLatencySeconds" in body and '\\"alarms\\"' in body


def test_archive_retention_follows_the_client_config(tmp_path: Path, example_config: ClientConfig) -> None:
    # Given a client that keeps payloads for 30 days
    from app import project_context
    from infra.stack import HoplineClientStack

    config = example_config.model_copy(
        update={"archive": example_config.archive.model_copy(update={"retention_days": 30})}
    )
    app = cdk.App(outdir=str(tmp_path), context={**project_context(), "aws:cdk:bundling-stacks": []})
    stack = HoplineClientStack(
        app, "short-retention", config=config, env=cdk.Environment(account="123456789012", region="eu-west-2")
    )
    buckets = of_type(Template.from_stack(stack).to_json()["Resources"], "AWS::S3::Bucket")
    # Then the archive bucket is encrypted and expires objects after 30 days
    [archive] = [props for props in buckets.values() if "LoggingConfiguration" in props]
    assert (
        archive["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "AES256"
    )
    assert [rule["ExpirationInDays"] for rule in archive["LifecycleConfiguration"]["Rules"]] == [30]


def test_alarm_count_per_client_stack(resources: dict[str, Any]) -> None:
    """The figure quoted in the docs: one stack's alarms, derived from the topology."""
    scheduled = sum(isinstance(h.trigger, topology.ScheduleTrigger) for h in HOPS)
    expected = 3 * len(DEPLOYED.queues) + scheduled + len(DEPLOYED.alerts) + len(DEPLOYED.state_machines)
    assert len(of_type(resources, "AWS::CloudWatch::Alarm")) == expected
    # And the README quotes that figure for the example client (what `make alarms` prints)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"Alarms ({expected} for the example client" in readme


# -- cancellation state machine ------------------------------------------------------------------------


def _definition(resources: dict[str, Any]) -> dict[str, Any]:
    """The synthesized ASL, with each Fn::GetAtt of a function replaced by its logical id."""
    (props,) = of_type(resources, "AWS::StepFunctions::StateMachine").values()
    parts = props["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else getatt_target(part) for part in parts)
    return json.loads(text)


def test_state_machine_every_task_is_one_hop_with_retry_and_catch(resources: dict[str, Any]) -> None:
    # Given the synthesized cancellation definition
    definition = _definition(resources)
    machine = topology.state_machine("cancellation")
    functions = {key: props["Handler"] for key, props in of_type(resources, "AWS::Lambda::Function").items()}
    task_states = {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}
    assert set(task_states) == {s.name for s in machine.states if isinstance(s, topology.TaskState)}
    for name, state in task_states.items():
        spec = machine.state(name)
        assert isinstance(spec, topology.TaskState)
        # Then each task invokes exactly its hop's function, payload only
        assert functions[state["Resource"]] == topology.hop(spec.hop).handler
        # And retries transient errors with backoff, and catches everything else
        retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
        assert {"TransientError", "RateLimitedError"} <= retried
        assert all(retry["BackoffRate"] >= 2 and retry["MaxAttempts"] >= 2 for retry in state["Retry"])
        assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": spec.catch_to}]
    assert "SubmitInFlightError" in {e for r in task_states["LookUpOrder"]["Retry"] for e in r["ErrorEquals"]}
    # And the catch-all records the failure, then fails the execution (visible, redrivable)
    assert task_states["RecordFailure"]["Next"] == "CancellationFailed"
    assert definition["States"]["CancellationFailed"]["Type"] == "Fail"


def test_state_machine_choice_covers_every_warehouse_status_code_by_the_clients_cancel_table(
    resources: dict[str, Any], example_config: ClientConfig
) -> None:
    from shared.connectors import warehouses
    from shared.flows.cancellation import Decision, Place, decide

    choice = _definition(resources)["States"]["WarehouseAllowsCancel"]
    routed: dict[str, str] = {}
    for rule in choice["Choices"]:
        for condition in rule.get("Or", [rule]):
            assert condition["Variable"] == "$.warehouse.code"
            routed[condition["StringEquals"]] = rule["Next"]
    # Every Scend status code has an explicit rule, routed as the cancel table says for this client
    assert set(routed) == set(warehouses.status_codes())
    rules = warehouses.cancel_rules(example_config)
    for code, target in routed.items():
        cancel = decide(Place.AT_WAREHOUSE, warehouses.status_read(example_config, code), rules).decision
        assert (target == "CancelAtWarehouse") == (cancel == Decision.CANCEL_AT_WAREHOUSE), code
    assert sorted((code for code, target in routed.items() if target == "CancelAtWarehouse"), key=int) == [
        "1",
        "7",
        "9",
        "10",
        "11",
        "12",
        "15",
        "21",
    ]
    assert choice["Default"] == "RecordOutcome"


def test_state_machine_a_failed_note_is_recorded_and_the_execution_still_succeeds(resources: dict[str, Any]) -> None:
    states = _definition(resources)["States"]
    assert states["NotifySource"]["Catch"][0]["Next"] == "RecordNoteFailure"
    assert states["RecordNoteFailure"]["Next"] == "Done" and states["Done"]["Type"] == "Succeed"


def test_state_machine_logs_everything_traces_and_alarms_on_failed_executions(
    resources: dict[str, Any], template: Template
) -> None:
    (props,) = of_type(resources, "AWS::StepFunctions::StateMachine").values()
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is True
    # The starter may start executions of this machine only, and knows its ARN
    _, starter = function_by_handler(resources)["functions.start_cancellation.handler.lambda_handler"]
    assert topology.state_machine_env("cancellation") in starter["Environment"]["Variables"]
    start_grants = [s for s in _identity_statements(resources) if "states:StartExecution" in _as_list(s["Action"])]
    assert len(start_grants) == 1 and not isinstance(start_grants[0]["Resource"], list)
    alarms = [
        p
        for p in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if "redrive the execution" in p.get("AlarmDescription", "")
    ]
    assert len(alarms) == 1
