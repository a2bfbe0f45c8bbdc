"""A state machine from its topology declaration: Lambda tasks (one hop each), choices, retries, catches.

`build_definition` is the one place the declaration becomes Step Functions states. The stack uses it
with the deployed functions; the sandbox renders the same chain with its own function ARNs
(`render_definition`) and runs it on moto, so the local run executes the deployed states.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from shared import topology
from shared.config import ClientConfig

LOG_RETENTION = logs.RetentionDays.THREE_MONTHS


def build_definition(
    scope: Construct,
    machine: topology.StateMachine,
    functions: Mapping[str, lambda_.IFunction],
    config: ClientConfig,
) -> sfn.IChainable:
    """The states of `machine`, wired; `functions` maps hop name -> function. Choice rules are listed per
    value (grouped by target), so the rendered definition shows every value the field can take."""
    states: dict[str, sfn.State] = {}
    for spec in machine.states:
        if isinstance(spec, topology.TaskState):
            task = tasks.LambdaInvoke(
                scope,
                spec.name,
                lambda_function=functions[spec.hop],
                payload_response_only=True,
                result_path=spec.result_path,
                comment=topology.hop(spec.hop).description[:250],
            )
            for policy in spec.retries:
                task.add_retry(
                    errors=list(policy.errors),
                    interval=cdk.Duration.seconds(policy.interval_seconds),
                    max_attempts=policy.max_attempts,
                    backoff_rate=policy.backoff_rate,
                )
            states[spec.name] = task
        elif isinstance(spec, topology.ChoiceState):
            states[spec.name] = sfn.Choice(scope, spec.name, comment=f"on {spec.field}")
        elif isinstance(spec, topology.SucceedState):
            states[spec.name] = sfn.Succeed(scope, spec.name)
        else:
            states[spec.name] = sfn.Fail(scope, spec.name, error=spec.error, cause=spec.cause)

    for spec in machine.states:
        state = states[spec.name]
        if isinstance(spec, topology.TaskState):
            assert isinstance(state, tasks.LambdaInvoke)
            state.add_catch(states[spec.catch_to], errors=[sfn.Errors.ALL], result_path="$.error")
            if spec.next is not None:
                state.next(states[spec.next])
        elif isinstance(spec, topology.ChoiceState):
            assert isinstance(state, sfn.Choice)
            by_target: dict[str, list[str]] = {}
            for value, target in spec.routes(config).items():
                by_target.setdefault(target, []).append(value)
            for target in spec.targets:
                values = by_target.get(target, [])
                if not values:
                    continue
                conditions = [sfn.Condition.string_equals(spec.field, value) for value in values]
                condition = conditions[0] if len(conditions) == 1 else sfn.Condition.or_(*conditions)
                state.when(condition, states[target])
            state.otherwise(states[spec.default])
    return states[machine.start_at]


def render_definition(
    machine: topology.StateMachine, function_arns: Mapping[str, str], config: ClientConfig
) -> dict[str, Any]:
    """The Amazon States Language document for `machine`, with literal function ARNs (the sandbox's)."""
    app = cdk.App()
    stack = cdk.Stack(app, "Render")
    functions = {
        hop: lambda_.Function.from_function_arn(stack, f"Fn{index}", arn)
        for index, (hop, arn) in enumerate(sorted(function_arns.items()))
    }
    start = build_definition(stack, machine, functions, config)
    graph = sfn.StateGraph(start.start_state, machine.name)
    definition = stack.resolve(graph.to_graph_json())
    return json.loads(json.dumps(definition))


class HopStateMachine(Construct):
    """A standard state machine with full logging and X-Ray, and an alarm when an execution fails."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        machine: topology.StateMachine,
        config: ClientConfig,
        functions: Mapping[str, lambda_.IFunction],
        state_machine_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            comment=machine.purpose[:250],
            definition_body=sfn.DefinitionBody.from_chainable(build_definition(self, machine, functions, config)),
            state_machine_type=sfn.StateMachineType.STANDARD,  # redrivable, exactly-once, history kept 90 days
            timeout=cdk.Duration.seconds(machine.timeout_seconds),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )

    def failures(self) -> cloudwatch.IMetric:
        """Executions failed, timed out or aborted per 5 minutes (each waits for a person, then a redrive)."""
        period = cdk.Duration.minutes(5)
        return cloudwatch.MathExpression(
            expression="failed + timedout + aborted",
            using_metrics={
                "failed": self.state_machine.metric_failed(period=period, statistic="Sum"),
                "timedout": self.state_machine.metric_timed_out(period=period, statistic="Sum"),
                "aborted": self.state_machine.metric_aborted(period=period, statistic="Sum"),
            },
            period=period,
        )
