"""State machines: declared here like the rest, rendered by infra/, executed on moto by sandbox/."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # declarations only: a hop's cold start need not load the config models
    from shared.config import ClientConfig


@dataclass(frozen=True)
class RetryPolicy:
    """Step Functions Retry: `errors` are exception class names a hop raises (the Lambda errorType)."""

    errors: tuple[str, ...]
    interval_seconds: int
    max_attempts: int
    backoff_rate: float = 2.0


@dataclass(frozen=True)
class TaskState:
    """A Task state that invokes one hop; its result lands at `result_path` of the execution document."""

    name: str
    hop: str
    result_path: str
    next: str | None  # None: the execution ends after this task
    retries: tuple[RetryPolicy, ...]
    catch_to: str  # every error not retried away goes here, with the error at $.error


@dataclass(frozen=True)
class ChoiceState:
    """Branch on one string field. `values` is the closed set the field can take; `route` names the next
    state for a value (given the client config), so the rendered rules cover every value explicitly."""

    name: str
    field: str
    values: tuple[str, ...]
    route: Callable[[ClientConfig, str], str]
    targets: tuple[str, ...]  # every state `route` may name
    default: str

    def routes(self, config: ClientConfig) -> dict[str, str]:
        """value -> next state for this client; refuses a route outside the declared targets."""
        table = {value: self.route(config, value) for value in self.values}
        stray = sorted(set(table.values()) - set(self.targets))
        if stray:
            raise ValueError(f"choice {self.name} routes to undeclared states {stray}")
        return table


@dataclass(frozen=True)
class SucceedState:
    name: str


@dataclass(frozen=True)
class FailState:
    name: str
    error: str
    cause: str


State = TaskState | ChoiceState | SucceedState | FailState


@dataclass(frozen=True)
class StateMachine:
    name: str
    purpose: str
    start_at: str
    states: tuple[State, ...]
    timeout_seconds: int = 3600

    def state(self, name: str) -> State:
        return next(s for s in self.states if s.name == name)


# Errors raised by connectors that a later attempt may not meet (class names from shared.errors).
TRANSIENT = RetryPolicy(("TransientError", "RateLimitedError"), interval_seconds=5, max_attempts=4, backoff_rate=2.0)
# 10+20+40+80+160 s: longer than a submit can stay in flight (shared.steps.cancellation.submit_lease_seconds).
SUBMIT_IN_FLIGHT = RetryPolicy(("SubmitInFlightError",), interval_seconds=10, max_attempts=5, backoff_rate=2.0)


def _where_is_the_order(config: ClientConfig, place: str) -> str:
    return "ReadWarehouseStatus" if place == "at_warehouse" else "RecordOutcome"


def _warehouse_allows_cancel(config: ClientConfig, code: str) -> str:
    """One route per warehouse status code, from the pure decision over the warehouse's cancel table."""
    from shared.connectors import warehouses
    from shared.flows.cancellation import Decision, Place, decide

    status = warehouses.status_read(config, code)
    decision = decide(Place.AT_WAREHOUSE, status, warehouses.cancel_rules(config)).decision
    return "CancelAtWarehouse" if decision == Decision.CANCEL_AT_WAREHOUSE else "RecordOutcome"


def _cancellation_machine() -> StateMachine:
    from shared.connectors import warehouses

    def task(
        name: str,
        hop_name: str,
        result_path: str,
        next_state: str | None,
        *extra: RetryPolicy,
        catch_to: str = "RecordFailure",
    ) -> TaskState:
        return TaskState(name, hop_name, result_path, next_state, (*extra, TRANSIENT), catch_to=catch_to)

    return StateMachine(
        name="cancellation",
        purpose="State-aware cancellation: cancel before submit or where the warehouse's table allows it, "
        "otherwise refuse and route to operations; every step recorded",
        start_at="LookUpOrder",
        states=(
            task("LookUpOrder", "lookup_cancellation", "$.lookup", "WhereIsTheOrder", SUBMIT_IN_FLIGHT),
            ChoiceState(
                "WhereIsTheOrder",
                "$.lookup.route",
                ("not_submitted", "at_warehouse", "cancelled"),
                _where_is_the_order,
                ("ReadWarehouseStatus", "RecordOutcome"),
                default="RouteUnknown",
            ),
            task("ReadWarehouseStatus", "read_warehouse_status", "$.warehouse", "WarehouseAllowsCancel"),
            # One rule per warehouse status code: only a code whose rule is "cancel" reaches the cancel call.
            ChoiceState(
                "WarehouseAllowsCancel",
                "$.warehouse.code",
                warehouses.status_codes(),
                _warehouse_allows_cancel,
                ("CancelAtWarehouse", "RecordOutcome"),
                default="RecordOutcome",
            ),
            task("CancelAtWarehouse", "cancel_at_warehouse", "$.cancel", "RecordOutcome"),
            task("RecordOutcome", "record_cancellation", "$.record", "NotifySource"),
            # A courtesy once the outcome is recorded: its failure is recorded for operations, and the saga succeeds.
            task("NotifySource", "notify_cancellation", "$.notify", "Done", catch_to="RecordNoteFailure"),
            SucceedState("Done"),
            TaskState(
                "RecordNoteFailure",
                "record_cancel_failure",
                "$.failure",
                "Done",
                (TRANSIENT,),
                catch_to="CancellationFailed",
            ),
            TaskState(
                "RecordFailure",
                "record_cancel_failure",
                "$.failure",
                "CancellationFailed",
                (TRANSIENT,),
                catch_to="CancellationFailed",
            ),
            FailState(
                "CancellationFailed",
                "CancellationFailed",
                "A step failed after its retries; see the exception inbox (flow cancellation), then redrive",
            ),
            FailState("RouteUnknown", "RouteUnknown", "The order lookup returned a route this machine does not know"),
        ),
    )


@functools.cache
def state_machines() -> tuple[StateMachine, ...]:
    """Every state machine, built and checked on first use (`STATE_MACHINES`).

    Not at import: the cancellation choice lists every registered cancel target's status codes, which loads
    each platform's connector spec, and no hop's handler needs a machine's declaration to run its step.
    """
    from shared.topology.build import validate_state_machines

    machines = (_cancellation_machine(),)
    validate_state_machines(machines)
    return machines


def __getattr__(name: str) -> Any:
    if name == "STATE_MACHINES":
        return state_machines()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The state machines, by the pipeline that runs them.
MACHINE_PIPELINE = {"cancellation": "cancellation"}
