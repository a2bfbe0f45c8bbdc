"""The deployed wiring, run locally: moto for AWS, the simulators for the platforms, the real handlers.

Everything is derived from shared/topology.py, exactly as infra/ derives the stack: the same queues
(with DLQs and maxReceiveCount), tables (same keys), bucket, secrets and triggers. Each hop runs with
its own Runtime built from exactly the environment its function carries (shared.wiring.hop_environment;
no resource name is put in the process environment), and a call outside its grants fails with
AccessDenied (sandbox.grants), as IAM would refuse it. Queue consumers are driven like the Lambda SQS
poller: receive a batch, invoke the handler, delete what succeeded, make the reported failures visible
again; SQS itself moves a message to its DLQ after maxReceiveCount receives.

State machines run for real on moto's Step Functions executor (the Amazon States Language interpreter
moto ships): the definition is rendered by infra's own `build_definition`, each task hop is a moto
Lambda function, and moto's Lambda invoke is patched to call the hop's handler in-process. Retry
backoff waits on the virtual clock instead of the wall clock. Call inside `mock_aws(config=MOTO_CONFIG)`.
"""

from __future__ import annotations

import importlib
import io
import itertools
import json
import logging
import os
import pickle
import secrets
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TextIO

from sandbox import grants
from shared import topology, wiring
from shared.clock import VirtualClock
from shared.config import CLIENT_CONFIG_ENV, ClientConfig
from shared.connectors.spec import Role

REGION = "eu-west-2"
ASYNC_ATTEMPTS = 3  # Lambda asynchronous invocation: the first try and two retries
ACCOUNT = "123456789012"
# moto executes state machine definitions only when asked; Lambda without Docker (handlers run in-process).
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
EXECUTION_WAIT_SECONDS = 30.0  # real seconds a sandbox waits for executions before calling them stuck
RECEIVE_MAX = 10  # messages one SQS ReceiveMessage returns at most


class _ThreadStdout(io.TextIOBase):
    """sys.stdout that sends each thread's writes where that thread asked (a hop's log), or to the
    real stdout. contextlib.redirect_stdout swaps one global, which two threads running hops at once
    (a queue consumer and a state machine task) would leave pointing at a log."""

    def __init__(self, real: TextIO):
        self.real = real
        self.local = threading.local()

    def write(self, text: str) -> int:
        target = getattr(self.local, "target", None)
        return (target or self.real).write(text)

    def flush(self) -> None:
        (getattr(self.local, "target", None) or self.real).flush()


def _thread_stdout() -> _ThreadStdout:
    if not isinstance(sys.stdout, _ThreadStdout):
        sys.stdout = _ThreadStdout(sys.stdout)
    return sys.stdout


_ACTIVE: LocalHopline | None = None  # the sandbox whose hops moto's Lambda invoke and retry waits reach

_EXECUTION = threading.local()  # on an execution's thread: its gate


class _ExecutionGate:
    """Hands control between one Step Functions execution's thread and the sandbox thread driving it:
    exactly one of them runs at a time."""

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._running = True
        self.ended = False

    def wait_until_stopped(self) -> None:
        with self._state:
            if not self._state.wait_for(lambda: not self._running, timeout=EXECUTION_WAIT_SECONDS):
                raise RuntimeError("a state machine execution neither waited nor ended")

    def park(self) -> None:
        """On the execution's thread: stop here until resumed."""
        with self._state:
            self._running = False
            self._state.notify_all()
            self._state.wait_for(lambda: self._running)

    def resume(self) -> None:
        """On the driving thread: let the execution run until it parks again or ends."""
        with self._state:
            self._running = True
            self._state.notify_all()
        self.wait_until_stopped()

    def finish(self) -> None:
        with self._state:
            self._running = False
            self.ended = True
            self._state.notify_all()


_PATCH_LOCK = threading.Lock()
_IMPORT_LOCK = threading.Lock()
# The sandbox's own log level wins over the client's: hop logs are discarded unless a log file is asked for.
_PROCESS_OWNED = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")
# Rendering goes through CDK (a node process): once per (machine, function ARNs, config) per process.
_DEFINITIONS: dict[tuple[str, str, str], dict[str, Any]] = {}


@dataclass
class FakeContext:
    """The parts of the Lambda context Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    clock: VirtualClock | None = None
    deadline: float = 0.0  # when the invocation's timeout runs out, on `clock` (epoch seconds)

    def get_remaining_time_in_millis(self) -> int:
        """The function's timeout less the virtual time the invocation has run (never below 1 ms)."""
        if self.clock is None:
            return 30_000
        return max(1, int((self.deadline - self.clock.now().timestamp()) * 1000))


def default_secret_values(config: ClientConfig) -> dict[str, dict[str, str]]:
    """Made-up credentials for every platform instance (and its webhook secret), keyed by config path."""
    values: dict[str, dict[str, str]] = {}
    for name, settings in config.platforms.items():
        spec = config.spec(name)
        values[f"platforms.{name}.credentials_secret"] = {key: secrets.token_hex(16) for key in spec.secret_keys}
        if getattr(settings, "webhook_secret", None):
            values[f"platforms.{name}.webhook_secret"] = {"secret": secrets.token_urlsafe(24)}
    return values


def resource_name(config: ClientConfig, name: str) -> str:
    return f"hopline-{config.client}-{name}"


def _aws_environment() -> None:
    """Fake credentials and region so nothing can reach a real account, whatever the shell has."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Hopline",
            "POWERTOOLS_SERVICE_NAME": "hopline-sandbox",
        }
    )
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")


class LocalHopline:
    """Create the topology's AWS resources on moto and run its hops in-process.

    Call inside an active `moto.mock_aws()`; `start()` returns the secrets it stored so the caller can
    configure simulators (or send a wrong one, to test rejection).
    """

    def __init__(
        self, config: ClientConfig, clock: VirtualClock, *, http_timeout: float = 0.25, log: TextIO | None = None
    ):
        self.config = config
        # What CloudWatch Logs would receive (Powertools metrics print EMF lines to stdout).
        self.log: TextIO = log if log is not None else io.StringIO()
        self.clock = clock
        self.http_timeout = http_timeout
        self.modules: dict[str, ModuleType] = {}
        self.queue_urls: dict[str, str] = {}
        self.dlq_urls: dict[str, str] = {}
        self.invocations: Counter[str] = Counter()
        self.record_failures: Counter[str] = Counter()
        self.secret_values: dict[str, dict[str, str]] = {}
        self.schedule_failures: Counter[str] = Counter()
        self.schedule_dead_letters: list[tuple[str, str]] = []
        self.runtime: Any = None  # an operator's view (every resource), for inspection; hops get their own
        self.names = wiring.ResourceNames()
        self._hop_runtimes: dict[str, Any] = {}
        self._runtime_lock = threading.Lock()
        self.function_hops: dict[str, str] = {}  # moto Lambda function name -> hop
        self.definitions: dict[str, dict[str, Any]] = {}  # state machine -> the ASL it runs
        self.state_machine_arns: dict[str, str] = {}
        self.task_errors: Counter[str] = Counter()
        self.retry_waits = 0
        self._executions: list[_ExecutionGate] = []  # started and not yet seen to end, in start order
        self._executions_lock = threading.Lock()
        self._running_gate: _ExecutionGate | None = None  # the execution allowed to run now
        self._log_lock = threading.Lock()
        self._executions_may_run = False
        self._clients: dict[str, Any] = {}
        self._ids = itertools.count(1)

    def _next_id(self) -> str:
        """Request and event ids: numbered, so a seeded day names everything the same every run."""
        return str(uuid.UUID(int=next(self._ids)))

    def client(self, service: str) -> Any:
        """One boto3 client per service for the sandbox's own calls: building a client costs milliseconds,
        and the queue pollers and the execution waits call moto thousands of times a day."""
        found = self._clients.get(service)
        if found is None:
            import boto3

            found = self._clients[service] = boto3.client(service)  # type: ignore[call-overload]
        return found

    # -- resources ------------------------------------------------------------------------------
    def start(self, secret_values: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, str]]:
        global _ACTIVE
        _aws_environment()
        _install_moto_patches()
        _ACTIVE = self  # before any message is sent: SQS delays and batching windows run on this clock
        dynamodb = self.client("dynamodb")
        for table in topology.TABLES:
            create_table(dynamodb, resource_name(self.config, table.name), table)
            self.names.tables[table.name] = resource_name(self.config, table.name)
        sqs = self.client("sqs")
        for queue in self.deployed.queues:
            dlq_url = sqs.create_queue(QueueName=resource_name(self.config, f"{queue.name}-dlq"))["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            url = sqs.create_queue(
                QueueName=resource_name(self.config, queue.name),
                Attributes={
                    "VisibilityTimeout": str(queue.visibility_timeout_seconds),
                    "RedrivePolicy": json.dumps(
                        {
                            "deadLetterTargetArn": dlq_arn,
                            "maxReceiveCount": str(self.config.retries.queue_max_receive_count),
                        }
                    ),
                },
            )["QueueUrl"]
            self.queue_urls[queue.name] = url
            self.dlq_urls[queue.name] = dlq_url
            self.names.queues[queue.name] = url
        s3 = self.client("s3")
        for bucket in topology.BUCKETS:
            name = resource_name(self.config, bucket.name)
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})  # type: ignore[typeddict-item]
            self.names.buckets[bucket.name] = name
        self.secret_values = secret_values or default_secret_values(self.config)
        manager = self.client("secretsmanager")
        for path, value in self.secret_values.items():  # "platforms.<instance>.<field>"
            manager.create_secret(Name=topology.config_value(self.config, path), SecretString=json.dumps(value))
        _install_moto_patches()
        self._create_state_machines()
        self._install_runtime()
        # Every function's init phase before any event, as a deploy does: an import sets the hop's environment
        # in os.environ for its length, and hops build their AWS clients on first use, on other threads.
        for hop in self.deployed.hops:
            self.handler(hop.name)
        return self.secret_values

    def _create_state_machines(self) -> None:
        """One moto Lambda function per task hop and each state machine, from infra's own renderer."""
        if not self.deployed.state_machines:
            return
        os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
        from infra.constructs.state_machine import render_definition

        role = self.client("iam").create_role(
            RoleName=resource_name(self.config, "sandbox-role"), AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("sandbox.py", "# the sandbox runs the hop in-process; this code is never run\n")
        lambda_client = self.client("lambda")
        stepfunctions = self.client("stepfunctions")
        for machine in self.deployed.state_machines:
            arns: dict[str, str] = {}
            for state in machine.states:
                if isinstance(state, topology.TaskState) and state.hop not in arns:
                    name = resource_name(self.config, state.hop.replace("_", "-"))
                    self.function_hops[name] = state.hop
                    arns[state.hop] = lambda_client.create_function(
                        FunctionName=name,
                        Runtime="python3.12",
                        Role=role,
                        Handler=topology.hop(state.hop).handler,
                        Code={"ZipFile": archive.getvalue()},
                        Timeout=topology.hop(state.hop).timeout_seconds,
                    )["FunctionArn"]
            cache_key = (machine.name, json.dumps(arns, sort_keys=True), self.config.to_env())
            if cache_key not in _DEFINITIONS:
                _DEFINITIONS[cache_key] = render_definition(machine, arns, self.config)
            self.definitions[machine.name] = _DEFINITIONS[cache_key]
            arn = stepfunctions.create_state_machine(
                name=resource_name(self.config, machine.name),
                roleArn=role,
                definition=json.dumps(self.definitions[machine.name]),
            )["stateMachineArn"]
            self.state_machine_arns[machine.name] = arn
            self.names.state_machines[machine.name] = arn

    # -- state machines ---------------------------------------------------------------------------
    def _invoke_task(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        """What moto's Lambda invoke runs: the hop's handler, here, with the error shape Lambda reports."""
        hop_name = self.function_hops[function_name.split(":")[-1]]
        event = json.loads(body or "{}")
        self.invocations[hop_name] += 1
        try:
            return json.dumps(self._call(hop_name, event)).encode()
        except Exception as error:  # noqa: BLE001 - Lambda reports any unhandled error as the function's error
            response_headers["x-amz-function-error"] = "Unhandled"
            self.task_errors[f"{hop_name}:{type(error).__name__}"] += 1
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()

    def _run_execution(self, worker: Any) -> None:
        """What moto's execution start does here: the execution runs on its own thread, but only while the
        thread that started it waits, until it ends or reaches its first Retry wait. From then on it runs
        only when the sandbox resumes it (`resume_executions`), one at a time, so a seeded day interleaves
        executions, consumers and schedules the same way every run."""
        gate = _ExecutionGate()

        def body() -> None:
            _EXECUTION.gate = gate
            self._running_gate = gate
            try:
                worker._execution_logic()
            finally:
                _EXECUTION.gate = None
                gate.finish()

        with self._executions_lock:
            self._executions.append(gate)
        threading.Thread(target=body, daemon=True, name="sandbox-execution").start()
        gate.wait_until_stopped()

    def _retry_wait(self, seconds: float) -> None:
        """A Retry's backoff: the execution parks until the sandbox resumes it (after the queue consumers
        in flight have finished, as on AWS they would run on while the execution waits); then virtual
        time passes."""
        with self._executions_lock:
            self.retry_waits += 1
        # moto evaluates the program on a thread of its own, below the execution's: the execution running
        # now (one runs at a time) is the one waiting.
        gate: _ExecutionGate | None = getattr(_EXECUTION, "gate", None) or self._running_gate
        if gate is not None:
            gate.park()
        self.clock.advance(seconds)

    def resume_executions(self, *, until_ended: bool) -> int:
        """Let each parked execution run to its next Retry wait or its end, in the order they parked;
        with `until_ended`, repeat until none is left. Returns how many resumptions ran."""
        resumed = 0
        while True:
            with self._executions_lock:
                self._executions = [g for g in self._executions if not g.ended]
                parked = list(self._executions)
            if not parked:
                return resumed
            for gate in parked:
                self._running_gate = gate
                gate.resume()
                resumed += 1
            if not until_ended:
                return resumed

    def running_executions(self) -> list[str]:
        stepfunctions = self.client("stepfunctions")
        running: list[str] = []
        for arn in self.state_machine_arns.values():
            for page in stepfunctions.get_paginator("list_executions").paginate(
                stateMachineArn=arn, statusFilter="RUNNING"
            ):
                running.extend(e["executionArn"] for e in page["executions"])
        return running

    def wait_for_executions(self, timeout: float = EXECUTION_WAIT_SECONDS) -> None:
        """Run every execution to its end (each one parked in a Retry wait is resumed until it ends).
        Free when no hop has started one since the last wait."""
        if not self._executions_may_run:
            return
        self.resume_executions(until_ended=True)
        deadline = time.monotonic() + timeout
        while self.running_executions():  # moto marks an execution ended just after its last state
            if time.monotonic() > deadline:
                raise RuntimeError(f"state machine executions still running after {timeout} s")
            time.sleep(0.005)
        self._executions_may_run = False

    def wait_until_execution_waits_or_ends(self, waits_before: int, timeout: float = EXECUTION_WAIT_SECONDS) -> None:
        """An execution started by a hop has already run to its first Retry wait or its end when the
        start returns (`_run_execution`); kept for callers that start one from a platform's hook."""
        del waits_before, timeout

    def executions(self) -> list[dict[str, Any]]:
        """Every execution of every state machine: name, status, input and output (parsed)."""
        stepfunctions = self.client("stepfunctions")
        found: list[dict[str, Any]] = []
        for arn in self.state_machine_arns.values():
            for page in stepfunctions.get_paginator("list_executions").paginate(stateMachineArn=arn):
                for summary in page["executions"]:
                    found.append(dict(stepfunctions.describe_execution(executionArn=summary["executionArn"])))
        return found

    def _install_runtime(self) -> None:
        from shared import runtime as runtime_module

        self.runtime = runtime_module.Runtime(
            self.config,
            clock=self.clock,
            environ=self.operator_environment(),
            http_timeout=self.http_timeout,
            budgets={},
        )
        runtime_module.use(self.runtime)
        with self._runtime_lock:
            self._hop_runtimes.clear()

    @property
    def deployed(self) -> topology.Topology:
        """What this client's stack holds: the resources of the pipelines its config names."""
        return topology.for_config(self.config)

    def reconfigure(self, config: ClientConfig) -> None:
        """Run on with a changed client config, as a redeploy would: every hop starts from a fresh runtime."""
        self.config = config
        self._install_runtime()

    def operator_environment(self) -> dict[str, str]:
        """Every resource name, as an operator reads them from the stack's outputs (never given to a hop)."""
        environment = {CLIENT_CONFIG_ENV: self.config.to_env(), "CLIENT_ID": self.config.client}
        environment |= {topology.table_env(n): v for n, v in self.names.tables.items()}
        environment |= {topology.queue_url_env(n): v for n, v in self.names.queues.items()}
        environment |= {topology.bucket_env(n): v for n, v in self.names.buckets.items()}
        environment |= {topology.state_machine_env(n): v for n, v in self.names.state_machines.items()}
        for path in self.secret_values:
            environment[topology.secret_env(path)] = topology.config_value(self.config, path)
        return environment

    def hop_environment(self, hop_name: str) -> dict[str, str]:
        """Exactly the environment the hop's deployed function carries (infra/ sets the same)."""
        return wiring.hop_environment(self.config, self.deployed.hop(hop_name), self.names)

    def hop_runtime(self, hop_name: str) -> Any:
        """The hop's Runtime, built from its environment alone; kept across invocations like a warm function."""
        from shared import runtime as runtime_module

        with self._runtime_lock:
            if hop_name not in self._hop_runtimes:
                self._hop_runtimes[hop_name] = runtime_module.Runtime(
                    self.config,
                    clock=self.clock,
                    environ=self.hop_environment(hop_name),
                    http_timeout=self.http_timeout,
                    budgets={},
                    tally=self.runtime.tally,
                )
            return self._hop_runtimes[hop_name]

    def call_stats(self, platform: str) -> Any:
        """HTTP calls, retries and throttled answers of one platform instance's connector, summed over every
        hop's own client (each function has its own) and the operator's."""
        from shared.connectors.http import CallStats

        total = CallStats()
        with self._runtime_lock:
            runtimes = [self.runtime, *self._hop_runtimes.values()]
        for rt in runtimes:
            built = rt.built(platform) if rt is not None else None  # only connectors a hop has built
            if built is not None:
                total.calls += built.stats.calls
                total.retries += built.stats.retries
                total.throttled += built.stats.throttled
        return total

    def handler(self, hop_name: str) -> Any:
        if hop_name not in self.modules:
            self.modules[hop_name] = _import_hop(self.deployed.hop(hop_name), self.hop_environment(hop_name))
        return self.modules[hop_name].lambda_handler

    def _context(self, hop_name: str) -> FakeContext:
        return FakeContext(
            clock=self.clock,
            deadline=self.clock.now().timestamp() + self.deployed.hop(hop_name).timeout_seconds,
            function_name=resource_name(self.config, hop_name),
            aws_request_id=self._next_id(),
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{hop_name}",
        )

    # -- triggers -------------------------------------------------------------------------------
    def call_api(self, method: str, path: str, *, headers: dict[str, str], body: str) -> tuple[int, dict[str, Any]]:
        """What API Gateway's Lambda proxy integration would deliver to the hop routed at (method, path): only
        the routes the topology derives for this client exist (`webhook_path` names one)."""
        hop = next(
            h
            for h in self.deployed.hops
            if isinstance(h.trigger, topology.ApiTrigger)
            and any((r.method, r.path) == (method, path) for r in h.trigger.routes)
        )
        event = {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": path,
                "httpMethod": method,
                "path": f"/prod{path}",
                "stage": "prod",
                "requestId": self._next_id(),
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": body,
            "isBase64Encoded": False,
        }
        self.invocations[hop.name] += 1
        response = self._call(hop.name, event)
        return int(response["statusCode"]), json.loads(response.get("body") or "{}")

    def webhook_path(self, role: Role, channel: str) -> str:
        """The route of `channel` of the platform playing `role` for this client (what its settings register)."""
        return topology.webhook_route_path(self.config.platform_for(role), channel)

    def run_schedule(self, hop_name: str) -> Any:
        """EventBridge invokes asynchronously: Lambda retries a failed run twice, then sends the event to
        the schedule's failure destination. Nothing is lost by a failed tick: the next one re-reads."""
        event = {
            "version": "0",
            "id": self._next_id(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": self.clock.now().isoformat(),
            "region": REGION,
            "resources": [],
            "detail": {},
        }
        for _attempt in range(ASYNC_ATTEMPTS):
            self.invocations[hop_name] += 1
            try:
                return self._call(hop_name, event)
            except Exception as error:  # noqa: BLE001 - what Lambda's async retry does with any error
                self.schedule_failures[hop_name] += 1
                last_error = error
                self.clock.advance(60)  # Lambda waits about a minute before the first async retry
        self.schedule_dead_letters.append((hop_name, repr(last_error)))
        return None

    def _call(self, hop_name: str, event: dict[str, Any]) -> Any:
        from shared import runtime as runtime_module

        handler = self.handler(hop_name)
        hop = self.deployed.hop(hop_name)
        router = _thread_stdout()
        if isinstance(self.log, io.StringIO):
            with self._log_lock:
                self.log.seek(0)
                self.log.truncate()  # discarded unless the caller asked for a log file
        previous = getattr(router.local, "target", None)
        router.local.target = self.log
        try:
            with (
                runtime_module.invoking(self.hop_runtime(hop_name)),
                grants.acting_as(hop_name, wiring.hop_grants(self.config, hop, self.names)),
            ):
                return handler(event, self._context(hop_name))
        finally:
            router.local.target = previous

    def drain(self, *, max_rounds: int = 10_000, seconds_per_round: float = 1.0, flush: bool = False) -> int:
        """Poll every consumed queue until none has a batch due, like the Lambda SQS pollers; returns rounds.

        A queue whose trigger has a batching window is delivered only once its oldest waiting message has
        waited the window on the virtual clock, or a full batch waits (`_due`): the clock is never spun to
        wait for one, so drain returns with such messages still waiting, for a later drain. `flush` delivers
        everything now, whatever the windows (a test's assertions, the end of a day)."""
        consumers = [h for h in self.deployed.hops if isinstance(h.trigger, topology.QueueTrigger)]
        for rounds in range(1, max_rounds + 1):
            busy = False
            for hop in consumers:
                assert isinstance(hop.trigger, topology.QueueTrigger)
                url = self.queue_urls[hop.trigger.queue]
                if not self._due(hop.trigger, flush=flush):
                    continue
                received = self._receive(url, hop.trigger.batch_size, attributes=True)
                if not received:
                    continue
                busy = True
                failed = self._invoke_batch(hop, received)
                _settle(url, received, failed)
            self.clock.advance(seconds_per_round)
            if self.resume_executions(until_ended=False):
                continue
            if not busy:
                if self.state_machine_arns:
                    self.wait_for_executions()
                return rounds
        raise RuntimeError(f"queues still busy after {max_rounds} rounds")

    def drain_queue(self, queue_name: str, *, flush: bool = False) -> int:
        """Run one queue's consumer until that queue has no batch due (from any thread); returns batches run.
        A batching window holds messages as in `drain`; `flush` delivers them all now."""
        hop = next(
            h
            for h in self.deployed.hops
            if isinstance(h.trigger, topology.QueueTrigger) and h.trigger.queue == queue_name
        )
        assert isinstance(hop.trigger, topology.QueueTrigger)
        url = self.queue_urls[queue_name]
        batches = 0
        while True:
            if not self._due(hop.trigger, flush=flush):
                return batches
            received = self._receive(url, hop.trigger.batch_size)
            if not received:
                return batches
            batches += 1
            failed = self._invoke_batch(hop, received)
            _settle(url, received, failed)

    def _receive(self, url: str, batch_size: int, *, attributes: bool = False) -> list[dict[str, Any]]:
        """Up to `batch_size` messages, as the Lambda poller assembles a batch: SQS returns at most 10 a
        receive, so a larger batch takes several. Received from moto's model (`_moto_receive`): the poller
        stands in for AWS's own, so no hop's wiring is skipped."""
        received: list[dict[str, Any]] = []
        while len(received) < batch_size:
            wanted = min(RECEIVE_MAX, batch_size - len(received))
            got = _moto_receive(url, wanted, message_attributes=attributes)
            received.extend(got)
            if len(got) < wanted:
                break
        return received

    def _due(self, trigger: topology.QueueTrigger, *, flush: bool = False) -> bool:
        """Whether the poller would invoke now: the queue holds a message a receive would return and, under
        a batching window, a full batch waits or the oldest has waited the window on the virtual clock (from
        when it became receivable: sent, or its delay ended). Asked of moto's model directly: an empty
        receive is most of a poller's calls, and each one is a full round trip through botocore."""
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[ACCOUNT][REGION].queues.get(resource_name(self.config, trigger.queue))
        if queue is None:
            return True
        waiting = queue.messages
        if not waiting:
            return False
        window = trigger.max_batching_window_seconds
        if flush or not window or len(waiting) >= trigger.batch_size:
            return True
        oldest = min(_receivable_since(message) for message in waiting)
        return self.clock.now().timestamp() - oldest >= window

    def flush(self) -> int:
        """Deliver what the batching windows still hold (before a day is judged): a drain with `flush`, run
        only when a windowed queue has messages waiting, so a client without windows sees no extra round."""
        windowed = [
            h.trigger.queue
            for h in self.deployed.hops
            if isinstance(h.trigger, topology.QueueTrigger) and h.trigger.max_batching_window_seconds
        ]
        if not any(self.waiting(name) for name in windowed):
            return 0
        return self.drain(flush=True)

    def waiting(self, queue_name: str) -> int:
        """Messages a receive on the queue would return now (held by a batching window, say)."""
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[ACCOUNT][REGION].queues.get(resource_name(self.config, queue_name))
        return len(queue.messages) if queue is not None else 0

    def _invoke_batch(self, hop: topology.Hop, messages: list[dict[str, Any]]) -> set[str]:
        assert isinstance(hop.trigger, topology.QueueTrigger)
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{resource_name(self.config, hop.trigger.queue)}"
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": _lambda_attributes(m.get("MessageAttributes", {})),
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }
        self.invocations[hop.name] += 1
        if hop.starts:
            self._executions_may_run = True
        try:
            response = self._call(hop.name, event)
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - Powertools raises when every record failed: all are retried
            failed = {m["MessageId"] for m in messages}
        self.record_failures[hop.name] += len(failed)
        return failed

    # -- inspection -----------------------------------------------------------------------------
    def dlq_messages(self) -> dict[str, list[dict[str, Any]]]:
        """Peek at every DLQ (messages are made visible again at once, nothing is consumed)."""
        sqs = self.client("sqs")
        found: dict[str, list[dict[str, Any]]] = {}
        for name, url in self.dlq_urls.items():
            bodies: dict[str, dict[str, Any]] = {}
            handles: list[str] = []
            for _ in range(100):
                batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
                    "Messages", []
                )
                if not batch:
                    break
                for message in batch:
                    bodies[message["MessageId"]] = json.loads(message["Body"])
                    handles.append(message["ReceiptHandle"])
            for handle in handles:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
            found[name] = list(bodies.values())
        return found


# The environment each handler module was last imported with (its init phase read it).
_IMPORTED_WITH: dict[str, dict[str, str]] = {}


def _settle(url: str, received: list[dict[str, Any]], failed: set[str]) -> None:
    """What the Lambda SQS poller does after a batch: delete what succeeded and make the reported failures
    visible again (at once here; the visibility timeout in AWS). On moto's model, as `_moto_receive`."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[ACCOUNT][REGION]
    name = url.rsplit("/", 1)[-1]
    for message in received:
        if message["MessageId"] in failed:
            backend.change_message_visibility(name, message["ReceiptHandle"], 0)
        else:
            backend.delete_message(name, message["ReceiptHandle"])


def _lambda_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Message attributes as Lambda's SQS event spells them (`stringValue`, `dataType`, ...), not as
    ReceiveMessage answers (`StringValue`, `DataType`): a hop reads the event's spelling."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value["DataType"],
        }
        for name, value in attributes.items()
    }


# System attributes a receive with AttributeNames=["All"] returns, as moto's ReceiveMessage answer spells them.
_SYSTEM_ATTRIBUTES = (
    ("MessageDeduplicationId", "deduplication_id"),
    ("MessageGroupId", "group_id"),
    ("SequenceNumber", "sequence_number"),
)


def _moto_receive(url: str, count: int, *, message_attributes: bool) -> list[dict[str, Any]]:
    """A ReceiveMessage (all system attributes; every message attribute when asked) answered from moto's
    model, in the shape botocore parses moto's answer into. The sandbox's poller receives and settles a
    batch several times a simulated minute, and each call through botocore and moto's HTTP layer cost more
    than the receive itself: tests/unit/test_sandbox_sqs_send.py compares the two."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[ACCOUNT][REGION]
    name = url.rsplit("/", 1)[-1]
    visibility = int(backend.get_queue(name).visibility_timeout)  # type: ignore[attr-defined]
    answered = []
    for message in backend.receive_message(name, count, 0, visibility, ["All"] if message_attributes else []):
        received: dict[str, Any] = {
            "MessageId": message.id,
            "ReceiptHandle": message.receipt_handle,
            "MD5OfBody": message.body_md5,
            "Body": message.body,
        }
        if message.message_attributes:
            received["MessageAttributes"] = message.message_attributes
            received["MD5OfMessageAttributes"] = message.attribute_md5
        system = {
            "SenderId": message.sender_id,
            "SentTimestamp": str(message.sent_timestamp),
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        trace = (message.system_attributes or {}).get("AWSTraceHeader")
        if trace:
            system["AWSTraceHeader"] = trace.get("StringValue")
        system.update({key: getattr(message, field) for key, field in _SYSTEM_ATTRIBUTES if getattr(message, field)})
        received["Attributes"] = system
        answered.append(received)
    return answered


def _import_hop(hop: topology.Hop, environment: dict[str, str]) -> ModuleType:
    """Import a hop's handler as Lambda's init phase does: with the function's environment in os.environ
    (module-level code such as the idempotency store reads it there), then take it away again, so no
    resource name outlives the import in the process environment."""
    with _IMPORT_LOCK:
        loaded = sys.modules.get(hop.module)
        if loaded is not None and _IMPORTED_WITH.get(hop.module) == environment:
            return loaded
        added = {k: v for k, v in environment.items() if k not in _PROCESS_OWNED and k not in os.environ}
        os.environ.update(added)
        try:
            # Another deployment (a second client in the same test process) re-runs the init phase.
            module = importlib.reload(loaded) if loaded is not None else importlib.import_module(hop.module)
            _IMPORTED_WITH[hop.module] = dict(environment)
            return module
        finally:
            for key in added:
                os.environ.pop(key, None)


def _install_moto_patches() -> None:
    """Route moto's Lambda invoke (no Docker) to the active sandbox's hops, and Step Functions Retry
    backoff to its virtual clock. Installed once per process; inert when no sandbox is active."""
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    with _PATCH_LOCK:
        if getattr(LambdaSimpleBackend.invoke, "_hopline", False):
            return
        original_invoke = LambdaSimpleBackend.invoke

        def invoke(
            self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
        ) -> Any:
            active = _ACTIVE
            if active is None or function_name.split(":")[-1] not in active.function_hops:
                return original_invoke(self, function_name, qualifier, body, headers, response_headers)
            return active._invoke_task(function_name, body, response_headers)

        invoke._hopline = True  # type: ignore[attr-defined]
        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
        real_time = retrier_decl.time

        class _BackoffClock:
            """Stands in for the `time` module inside moto's retrier: only `sleep` is used there."""

            def __getattr__(self, name: str) -> Any:
                return getattr(real_time, name)

            @staticmethod
            def sleep(seconds: float) -> None:
                active = _ACTIVE
                if active is None:
                    real_time.sleep(seconds)
                else:
                    active._retry_wait(seconds)

        retrier_decl.time = _BackoffClock()  # type: ignore[assignment]
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        original_start = ExecutionWorker.start

        def start(self: Any) -> None:
            active = _ACTIVE
            if active is None:
                original_start(self)
            else:
                active._run_execution(self)

        ExecutionWorker.start = start  # type: ignore[method-assign]
        _delay_sqs_messages_on_the_virtual_clock()
        _serialise_dynamodb_writes()
        _write_item_answers_as_json()
        _parse_update_expressions_once()
        _remember_moto_reflection()
        _query_without_sorting_the_table()
        _send_without_walking_the_queue()
        _sign_without_hashing()
        _route_requests_once()
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)  # task errors are expected and counted


def _receivable_since(message: Any) -> float:
    """When a moto message became receivable, on the virtual clock (epoch seconds): sent, or its delay ended.
    One sent while no sandbox was active counts as waiting since ever."""
    return max(float(getattr(message, SENT_AT, 0.0)), message.delayed_until / 1000)


SENT_AT = "_hopline_sent_at"  # the virtual time a moto message was sent (a batching window counts from it)


def _delay_sqs_messages_on_the_virtual_clock() -> None:
    """A message sent with DelaySeconds (work a background hop left for later) stays invisible for that long
    on the active sandbox's virtual clock, not the wall clock, which hardly moves in a virtual day; and
    every message notes when it was sent on that clock, for the batching windows (`LocalHopline._due`)."""
    from moto.sqs.models import Message

    original_delay = Message.delay
    original_delayed = Message.delayed
    original_mark_sent = Message.mark_sent

    def mark_sent(self: Any, delay_seconds: int | None = None) -> None:
        active = _ACTIVE
        if active is not None:
            setattr(self, SENT_AT, active.clock.now().timestamp())
        original_mark_sent(self, delay_seconds)

    def delay(self: Any, delay_seconds: int) -> None:
        active = _ACTIVE
        if active is None:
            original_delay(self, delay_seconds)
            return
        self.delayed_until = (active.clock.now().timestamp() + int(delay_seconds)) * 1000

    def delayed(self: Any) -> bool:
        active = _ACTIVE
        if active is None:
            return bool(original_delayed.fget(self))  # type: ignore[attr-defined]
        return bool(active.clock.now().timestamp() * 1000 < self.delayed_until)

    Message.delay = delay  # type: ignore[method-assign]
    Message.mark_sent = mark_sent  # type: ignore[method-assign]
    Message.delayed = property(delayed)  # type: ignore[assignment, method-assign]


def _serialise_dynamodb_writes() -> None:
    """DynamoDB applies a conditional write atomically per item; moto's in-memory backend checks the
    condition and then updates, so two threads can both pass. The cancel/submit race relies on that
    atomicity, so the sandbox serialises moto's item reads and writes (one lock: a faithful, if coarse,
    stand-in for per-item atomicity)."""
    import copy
    import functools

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "get_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def serialised(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            with lock:
                result = _original(*args, **kwargs)
                # moto's update_item response deep-copies the item get_item returned *after* the lock is
                # released, while another thread may be writing it: hand out a copy taken under the lock.
                return copy.deepcopy(result) if _name == "get_item" else result

        setattr(DynamoDBBackend, name, functools.wraps(original)(serialised))


# DynamoDB operations whose whole answer is items in DynamoDB's wire JSON, counts and keys.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _write_item_answers_as_json() -> None:
    """moto serialises every answer by walking botocore's output shape member by member, and for items
    that walk visits each attribute value's ten possible type keys: about a fifth of a sandbox day went
    there. An item operation's result is already the wire JSON (moto builds it with `dynamo_to_dict`), so
    the sandbox writes it out with `json.dumps`. Results holding bytes or timestamps (which the shape walk
    encodes) take moto's own path. Botocore parses both the same: tests/unit/test_sandbox_dynamodb_answers.py."""
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result
    if getattr(original, "_hopline", False):
        return

    def execute_result(self: Any, context: Any) -> Any:
        operation = context.operation_model
        if operation.name in ITEM_OPERATIONS and isinstance(self.result, dict):
            try:
                body = json.dumps(self.result)
            except TypeError:
                return original(self, context)
            version = context.service_model.metadata.get("jsonVersion", "1.0")
            status = operation.http.get("responseCode", 200)
            return status, {"Content-Type": f"application/x-amz-json-{version}"}, body
        return original(self, context)

    execute_result._hopline = True  # type: ignore[attr-defined]
    execute_result._moto = original  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _remember_moto_reflection() -> None:
    """moto lists a response class's methods with inspect.getmembers on every request it dispatches
    (to find the action's method), and SQS spells each queue attribute's name into snake case on every
    read of a queue's attributes: both pure functions of a class or a constant name, and together a
    few per cent of a day. The sandbox computes each once."""
    import functools

    from moto.core import responses as core_responses
    from moto.sqs import models as sqs_models

    if getattr(core_responses.method_names_from_class, "_hopline", False):
        return
    original = core_responses.method_names_from_class
    names_of = functools.lru_cache(maxsize=None)(lambda clazz: tuple(original(clazz)))

    def method_names_from_class(clazz: object) -> list[str]:
        return list(names_of(clazz))

    method_names_from_class._hopline = True  # type: ignore[attr-defined]
    core_responses.method_names_from_class = method_names_from_class  # type: ignore[attr-defined]
    sqs_models.camelcase_to_underscores = functools.lru_cache(maxsize=1024)(sqs_models.camelcase_to_underscores)  # type: ignore[attr-defined]


_PARSED_UPDATES_MAX = 4096  # distinct UpdateExpressions kept; a day sends a few dozen


def _parse_update_expressions_once() -> None:
    """moto parses an UpdateExpression twice per UpdateItem (its response layer, then its backend),
    deep-copies the tree for the validator, and checks clause counts and overlapping paths at every
    nested node (quadratic in the clauses): about half of an UpdateItem's time, and the ledger's upserts
    are a day's most frequent write. The expressions are a few dozen strings sent thousands of times, so
    the sandbox parses each once and hands every caller its own tree, unpickled from the first parse
    (nobody shares nodes); the validator's copy is a pickle round trip instead of deepcopy; and the two
    checks that read only the expression (and its attribute names) run once per node and expression,
    remembering passes only, so a refused expression is refused every time. Same items, same
    refusals: tests/unit/test_sandbox_dynamodb_answers.py."""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, UpdateExpression  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    if getattr(UpdateExpressionParser.make, "_hopline", False):
        return
    original = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    parsed: dict[str, bytes] = {}

    def mark(node: Any, expression: str, seen: list[int]) -> None:
        if isinstance(node, UpdateExpression):
            node._hopline_mark = (expression, len(seen))  # which node of which expression
            seen.append(1)
        for child in getattr(node, "children", None) or []:
            mark(child, expression, seen)

    def make(cls: Any, expression: str) -> Any:
        tree = parsed.get(expression)
        if tree is None:
            node = original(cls, expression)  # a refusal raises here, every time, as before
            mark(node, expression, [])
            if len(parsed) >= _PARSED_UPDATES_MAX:
                parsed.clear()
            parsed[expression] = tree = pickle.dumps(node, pickle.HIGHEST_PROTOCOL)
        return pickle.loads(tree)  # noqa: S301 - bytes this process pickled itself

    def copy_tree(value: Any, memo: Any = None) -> Any:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - a copy of our own tree

    def passes_once(validator: Any, check_name: str, *, by_names: bool) -> None:
        check = getattr(validator, check_name)
        passed: set[Any] = set()

        def checked(self: Any, node: Any) -> Any:
            node_mark = getattr(node, "_hopline_mark", None)
            names = tuple(sorted((self.expression_attribute_names or {}).items())) if by_names else ()
            key = (node_mark, names)
            if node_mark is not None and key in passed:
                return node
            result = check(self, node)
            if node_mark is not None:
                if len(passed) >= 16 * _PARSED_UPDATES_MAX:
                    passed.clear()
                passed.add(key)
            return result

        checked._moto = check  # type: ignore[attr-defined]
        setattr(validator, check_name, checked)

    make._hopline = True  # type: ignore[attr-defined]
    make._moto = original  # type: ignore[attr-defined]
    UpdateExpressionParser.make = classmethod(make)  # type: ignore[method-assign,assignment]
    validators.deepcopy = copy_tree  # type: ignore[attr-defined,assignment,unused-ignore]
    passes_once(validators.ActionCountValidator, "verify_action_counts", by_names=False)
    passes_once(validators.OverlappingPathsValidator, "check_for_overlapping_paths", by_names=True)

    # Every traverser rebuilds its (constant) processing map at every node it visits: build it once each.
    def processing_map(self: Any) -> dict[Any, Any]:
        known = self.__dict__.get("_hopline_map")
        if known is None:
            known = self.__dict__["_hopline_map"] = self._processing_map()
        return known  # type: ignore[no-any-return]

    def nodes_to_be_processed(self: Any) -> tuple[Any, ...]:
        kinds = self.__dict__.get("_hopline_kinds")
        if kinds is None:
            kinds = self.__dict__["_hopline_kinds"] = tuple(processing_map(self))
        return kinds  # type: ignore[no-any-return]

    def process(self: Any, node: Any) -> Any:
        for class_key, processor in processing_map(self).items():
            if isinstance(node, class_key):
                return processor(node)
        return None

    nodes_to_be_processed._moto = DepthFirstTraverser.nodes_to_be_processed  # type: ignore[attr-defined]
    process._moto = DepthFirstTraverser.process  # type: ignore[attr-defined]
    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed  # type: ignore[method-assign]
    DepthFirstTraverser.process = process  # type: ignore[method-assign]


_QUERYING = threading.local()  # on a thread inside moto's Table.query: its key condition's partition


def _while_flagged(flag: threading.local, original: Any) -> Any:
    """`original` (a method), with `flag.active` set on this thread while it runs: how a patched moto
    internal knows it was reached from the one operation the patch is for (a nested call keeps it set)."""

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(flag, "active", False)
        flag.active = True
        try:
            return original(self, *args, **kwargs)
        finally:
            flag.active = outer

    return wrapped


def _query_partition(table: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What a moto `Table.query` call asks for, as a filter on the table's items: None for the table's own
    partition (its hash key, looked up directly), or a list of (attribute, string value) an index item must
    hold; False when the condition is not one this shortcut reads (moto then gets every item)."""
    hash_key = kwargs.get("hash_key", args[0] if args else None)
    index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
    conditions = kwargs.get("hash_key_conditions", args[10] if len(args) > 10 else None)
    if not index_name:
        return None if hash_key is not None else False
    if not conditions:
        index = next((i for i in table.all_indexes() if i.name == index_name), None)
        hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"] if index else []
        if hash_key is None or len(hashes) != 1:
            return False
        conditions = [(hashes[0], hash_key)]
    if any(value.type != "S" for _, value in conditions):
        return False  # numbers compare by value ("1" equals "1.0"): leave those to moto
    return [(name, value.value) for name, value in conditions]


def _query_without_sorting_the_table() -> None:
    """moto answers every Query by sorting *all* of the table's items (`all_items`), then keeps the ones
    the key condition matches, comparing each item's key through its number-aware equality, and sorts those
    again by the index's (or table's) key. The first sort is wasted work, and both grow with the table: a
    day's monitors query the ledger's by-stage index every minute, so at 2,000 orders about a tenth of the
    day went there. Inside `Table.query` the sandbox hands back, unsorted, only the items that can match:
    the queried partition of the table, or the index items whose (string) key attributes equal the
    condition's. moto still checks and sorts them (on the full key, the table's own key last, so no two
    items tie), so the answer is the same item for item and page for page:
    tests/unit/test_sandbox_dynamodb_answers.py. Scans keep moto's sorted order."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_hopline", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items
    anything: Any = object()  # no query on this thread: moto's own all_items

    def all_items(self: Any) -> Any:
        wanted: Any = getattr(_QUERYING, "wanted", anything)
        if wanted is anything:
            return original_all_items(self)
        if wanted is None:  # the table's own partition
            partition = self.items.get(_QUERYING.hash_key)
            if partition is None:
                return []
            return list(partition.values()) if self.range_key_attr else [partition]
        rows = (
            [item for partition in self.items.values() for item in partition.values()]
            if self.range_key_attr
            else list(self.items.values())
        )
        if wanted is False:
            return rows
        return [
            item
            for item in rows
            if all(
                (held := item.attrs.get(name)) is not None and held.type == "S" and held.value == value
                for name, value in wanted
            )
        ]

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = (getattr(_QUERYING, "wanted", anything), getattr(_QUERYING, "hash_key", None))
        _QUERYING.wanted = _query_partition(self, args, kwargs)
        _QUERYING.hash_key = kwargs.get("hash_key", args[0] if args else None)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _QUERYING.wanted, _QUERYING.hash_key = outer

    query._hopline = True  # type: ignore[attr-defined]
    query._moto = original_query  # type: ignore[attr-defined]
    all_items._moto = original_all_items  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


_SENDING = threading.local()  # set while moto's SQS SendMessage runs on this thread


def _send_without_walking_the_queue() -> None:
    """moto's SendMessage reads the queue's `attributes` to learn one flag (ContentBasedDeduplication), and
    building them counts the queue's visible, delayed and in-flight messages, a walk of every message: 3 ms
    a send on a 100-message queue, 11 ms on a 400-message one. While a send runs the sandbox hands back
    just that flag, as moto spells it (FIFO queues only; a standard queue has none); every other read of a
    queue's attributes is moto's own: tests/unit/test_sandbox_sqs_send.py."""
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend.send_message, "_hopline", False):
        return
    original_send = SQSBackend.send_message
    original_attributes = Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        if not getattr(_SENDING, "active", False):
            return original_attributes.fget(self)  # type: ignore[attr-defined, no-any-return]
        if not self.fifo_queue:
            return {}
        return {"ContentBasedDeduplication": str(bool(self.content_based_deduplication)).lower()}

    send_message = _while_flagged(_SENDING, original_send)
    send_message._hopline = True  # type: ignore[attr-defined]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    Queue.attributes = property(attributes)  # type: ignore[assignment, method-assign]


def _sign_without_hashing() -> None:
    """Every request the sandbox's clients make is SigV4-signed: a canonical request, a hash of the body and
    five HMACs, about 6 % of a 2,000-order day, for a signature moto never checks (it reads only the
    credential scope: which access key, so which account, and which region). While a sandbox is active its
    requests carry the same headers with a signature of zeros; a presigned URL or any other signer is
    botocore's own: tests/unit/test_sandbox_requests.py."""
    from botocore.auth import SIGV4_TIMESTAMP, S3SigV4Auth, SigV4Auth, get_current_datetime  # type: ignore[attr-defined]
    from botocore.exceptions import NoCredentialsError

    if getattr(SigV4Auth.add_auth, "_hopline", False):
        return
    original = SigV4Auth.add_auth
    plain = (SigV4Auth, S3SigV4Auth)  # header signers; subclasses that sign elsewhere keep theirs

    def add_auth(self: Any, request: Any) -> None:
        if _ACTIVE is None or type(self) not in plain:
            original(self, request)
            return
        if self.credentials is None:
            raise NoCredentialsError()
        request.context["timestamp"] = get_current_datetime().strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)  # date, token and (S3) content-hash headers, as signed
        self._inject_signature_to_request(request, "0" * 64)

    add_auth._hopline = True  # type: ignore[attr-defined]
    add_auth._moto = original  # type: ignore[attr-defined]
    SigV4Auth.add_auth = add_auth  # type: ignore[method-assign]


def _route_requests_once() -> None:
    """moto's request router rebuilds a backend's URL map (every path pattern of every URL base) and
    compiles each pattern again on every request it routes; Python's own pattern cache (512 entries) is
    too small for all of moto's. Both are pure functions of the backend class and the pattern, so the
    sandbox keeps each once."""
    import functools
    import re

    from moto.core import base_backend, botocore_stubber

    if getattr(base_backend.BaseBackend.urls.fget, "_hopline", False):  # type: ignore[attr-defined]
        return
    original = base_backend.BaseBackend.urls
    maps: dict[Any, Any] = {}

    def urls(self: Any) -> Any:
        key = (type(self), tuple(self.url_bases), base_backend.enable_iso_regions())
        known = maps.get(key)
        if known is None:
            known = maps[key] = original.fget(self)  # type: ignore[attr-defined]
        return known

    class _Patterns:
        """`re` for the router: `compile` remembers every pattern; the rest is the module's."""

        compile = staticmethod(functools.lru_cache(maxsize=None)(re.compile))

        def __getattr__(self, name: str) -> Any:
            return getattr(re, name)

    urls._hopline = True  # type: ignore[attr-defined]
    urls._moto = original.fget  # type: ignore[attr-defined]
    base_backend.BaseBackend.urls = property(urls)  # type: ignore[method-assign, assignment]
    botocore_stubber.re = _Patterns()  # type: ignore[attr-defined, assignment]


def create_table(dynamodb: Any, name: str, table: topology.Table) -> None:
    """The same key schema infra/ declares (both read topology.TABLES)."""
    attributes = {table.partition_key}
    keys = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    if table.sort_key:
        keys.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
        attributes.add(table.sort_key)
    indexes = []
    for index_name, pk, sk in table.indexes:
        attributes.update({pk, sk})
        indexes.append(
            {
                "IndexName": index_name,
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}],
            }
        )
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
    }
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    dynamodb.create_table(**kwargs)
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )
