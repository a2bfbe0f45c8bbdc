"""The operator commands' wiring and output: boto3 from the usual profile (or an endpoint), rich tables
or `--json`. The work itself is in cli/ops.py."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
from pydantic import BaseModel

from cli.ops import Ops, OpsError, StackNotFoundError, StackResources, resources_by_convention, resources_from_stack
from shared.connectors.spec import Role

# ClientError codes that mean the credentials themselves were refused, or the identity may not act.
_BAD_CREDENTIALS = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "RequestExpired",
    "AuthFailure",
    "InvalidAccessKeyId",
}
_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}


def _where(args: argparse.Namespace, region: str | None) -> str:
    profile = args.profile or os.environ.get("AWS_PROFILE") or "default"
    place = f"profile {profile}, region {args.region or region or 'unset'}, stack hopline-{args.client}"
    return f"{place}, endpoint {args.endpoint_url}" if args.endpoint_url else place


def aws_problem(error: Exception, args: argparse.Namespace, region: str | None = None) -> str:
    """One line for a failed AWS call: what went wrong, against which profile/region/stack, what to do."""
    where = _where(args, region)
    if isinstance(error, StackNotFoundError):
        return (
            f"{error} ({where}): deploy it (README, 'Deploy a client') or pass the right --client, --region, --profile"
        )
    if isinstance(error, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return (
            f"no usable AWS credentials ({where}): pass --profile NAME or set AWS_PROFILE "
            "(for SSO, run `aws sso login --profile NAME` first)"
        )
    if isinstance(error, SSOError | TokenRetrievalError | UnauthorizedSSOTokenError):
        return f"the AWS SSO session has expired or is missing ({where}): run `aws sso login --profile NAME`"
    if isinstance(error, ProfileNotFound):
        profile = args.profile or os.environ.get("AWS_PROFILE")
        return f"AWS profile {profile!r} is not configured (~/.aws/config): pass an existing --profile"
    if isinstance(error, NoRegionError):
        return f"no AWS region ({where}): pass --region or set AWS_REGION"
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError):
        return f"cannot reach AWS ({where}): {error}; check the network, --region and --endpoint-url"
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", "unknown"))
        operation = error.operation_name
        if code in _BAD_CREDENTIALS:
            return (
                f"AWS refused the credentials ({code} on {operation}; {where}): refresh them or pass another --profile"
            )
        if code in _ACCESS_DENIED:
            return (
                f"access denied to {operation} ({where}): the identity needs the permissions listed in "
                "docs/runbook.md ('Before you start')"
            )
        message = str(error.response.get("Error", {}).get("Message", ""))
        return f"AWS {operation} failed: {code} {message} ({where})"
    return f"AWS call failed: {error} ({where})"


def build_ops(args: argparse.Namespace) -> Ops:
    """Clients from the usual AWS profile/region (or `--endpoint-url`), names from the stack or by convention."""
    import boto3

    from shared.config import config_for_client
    from shared.errors import ConfigError

    source, prefix, region = "cin7_core", "", None
    try:
        config = config_for_client(args.client)
        source, prefix = config.settings_for(Role.ORDER_SOURCE).type, config.orders.reference_prefix
        region = config.region
    except ConfigError:
        pass  # a client whose file is not in this checkout: defaults, names from the stack
    session = boto3.Session(profile_name=args.profile, region_name=args.region or region)
    endpoint = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    sqs = session.client("sqs", **endpoint)
    names = args.names or ("convention" if args.endpoint_url else "stack")
    resources: StackResources = (
        resources_by_convention(args.client, sqs)
        if names == "convention"
        else resources_from_stack(args.client, session.client("cloudformation", **endpoint))
    )
    return Ops(
        resources=resources,
        dynamodb=session.resource("dynamodb", **endpoint),
        sqs=sqs,
        s3=session.client("s3", **endpoint),
        source=source,
        reference_prefix=prefix,
        cloudwatch=session.client("cloudwatch", **endpoint),
    )


def run_ops_command(args: argparse.Namespace, ops: Ops | None = None) -> int:
    """Run one of where / exceptions / replay / payload / resolve / redrive / subscription; 0 on success, 1 with a
    clear message."""
    try:
        ops = ops or build_ops(args)
        result = _dispatch(args, ops)
    except StackNotFoundError as error:
        print(f"hopline {args.command}: {_one_line(aws_problem(error, args, _client_region(args)))}", file=sys.stderr)
        return 1
    except OpsError as error:
        print(f"hopline {args.command}: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:  # the one place AWS failures become a message
        print(f"hopline {args.command}: {_one_line(aws_problem(error, args, _client_region(args)))}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_plain(result), sort_keys=True, default=str))
    else:
        _PRINTERS[args.command](result)
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _client_region(args: argparse.Namespace) -> str | None:
    """The client file's region, when the file is in this checkout (what `build_ops` used)."""
    from shared.config import config_for_client
    from shared.errors import ConfigError

    try:
        return config_for_client(args.client).region
    except ConfigError:
        return None


def _backlog_alarm_seconds(client: str) -> int:
    """The client's `monitoring.backlog_alarm_seconds`, or its default when the file is not in this checkout."""
    from shared.config import MonitoringConfig, config_for_client
    from shared.errors import ConfigError

    try:
        return config_for_client(client).monitoring.backlog_alarm_seconds
    except ConfigError:
        return MonitoringConfig().backlog_alarm_seconds


def _dispatch(args: argparse.Namespace, ops: Ops) -> Any:
    user = getattr(args, "user", None) or _login()
    if args.command == "where":
        return ops.where(args.order)
    if args.command == "exceptions":
        return ops.list_exceptions(team=args.team, reason=args.reason, status=args.status)
    if args.command == "replay":
        edited = None
        if args.edit:
            try:
                edited = json.loads(Path(args.edit).read_text())
            except (OSError, ValueError) as error:
                raise OpsError(f"--edit {args.edit}: not a readable JSON file ({error})") from error
            if not isinstance(edited, dict):
                raise OpsError(f"--edit {args.edit}: expected a JSON object (the message)")
        return ops.replay(args.exception_id, edited=edited, queue=args.queue, dry_run=args.dry_run, user=user)
    if args.command == "payload":
        return ops.payload(args.exception_id)
    if args.command == "resolve":
        return ops.close(args.exception_id, ignore=args.ignore, user=user, note=args.note)
    if args.command == "backlog":
        return ops.backlog(alarm_seconds=args.alarm_seconds or _backlog_alarm_seconds(args.client))
    if args.command == "redrive":
        return ops.redrive(args.queue, rate=args.rate, dry_run=args.dry_run, manual=args.manual, limit=args.limit)
    if args.command == "subscription":
        config = _client_config(args.client)
        queue_url = ops.resources.queues.get(SUBSCRIPTION_QUEUE)
        if queue_url is None:
            raise OpsError(f"{args.client} deploys no {SUBSCRIPTION_QUEUE} queue: no platform of its pushes messages")
        return subscription_command(
            args.action, platform_keeper(args, config), queue_url=queue_url, region=args.region or config.region
        )
    raise OpsError(f"unknown command {args.command}")


SUBSCRIPTION_QUEUE = "order-messages"


def _client_config(client: str) -> Any:
    from shared.config import config_for_client
    from shared.errors import ConfigError

    try:
        return config_for_client(client)
    except ConfigError as error:
        raise OpsError(f"subscription needs the client file of {client} in this checkout: {error}") from error


class _CliContext:
    """What a connector builder takes from its caller (shared.connectors.spec.BuildContext), for one command."""

    http_timeout: float | None = None
    user_agent = "hopline/cli"

    def __init__(self) -> None:
        from shared.clock import SystemClock

        self.clock = SystemClock()

    def budget(self, key: str, calls: int, per_seconds: float) -> Any:
        from shared.connectors.http import TokenBucket

        return TokenBucket(calls, per_seconds, self.clock)


def platform_keeper(args: argparse.Namespace, config: Any) -> Any:
    """The order source's connector, with the credentials the stack's functions read (its secret)."""
    import boto3

    name = config.platform_for(Role.ORDER_SOURCE)
    settings = config.platforms[name]
    session = boto3.Session(profile_name=args.profile, region_name=args.region or config.region)
    endpoint = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    value = session.client("secretsmanager", **endpoint).get_secret_value(SecretId=settings.credentials_secret)
    return config.spec(name).build(name, settings, json.loads(value["SecretString"]), config.retries, _CliContext())


def subscription_command(action: str, keeper: Any, *, queue_url: str, region: str) -> dict[str, Any]:
    """`create` makes the subscription to the stack's queue (or account, for EventBridge) when it is missing;
    both then report its status, and a status other than Healthy is an error (exit 1), as the alarm says."""
    if action == "create":
        account = queue_url.rstrip("/").split("/")[-2]  # https://sqs.<region>.amazonaws.com/<account>/<name>
        health = keeper.ensure_subscription(queue_url=queue_url, region=region, account_id=account)
    else:
        health = keeper.subscription_health()
    if not health.exists:
        raise OpsError(f"subscription {health.key} does not exist: run `hopline subscription create`")
    if not health.healthy:
        raise OpsError(
            f"subscription {health.key} is {health.status}, not Healthy: no order messages arrive "
            "(docs/runbook.md, alarm subscription-unhealthy)"
        )
    return dict(health.model_dump())


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def _plain(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_plain(item) for item in result]
    return result


# -- tables ---------------------------------------------------------------------------------------
def _console() -> Any:
    from rich.console import Console

    return Console()


def _table(title: str, columns: list[str]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _print_where(view: Any) -> None:
    console = _console()
    console.print(
        f"[bold]{view.order_number or view.order_key}[/bold]  key {view.order_key}  stage {view.stage}"
        f"  warehouse {view.warehouse_order_id or '-'} ({view.client_reference or '-'})"
        f"  {'closed' if view.closed else 'open'}"
    )
    table = _table("Timeline", ["time (UTC)", "system", "event", "detail"])
    for event in view.timeline:
        table.add_row(event.at.strftime("%Y-%m-%d %H:%M:%S"), event.system, event.event, event.detail)
    console.print(table)


def _print_exceptions(records: list[Any]) -> None:
    table = _table(
        f"Exceptions ({len(records)})", ["id", "reason", "team", "status", "attempts", "last seen", "detail"]
    )
    for record in records:
        table.add_row(
            record.id,
            record.reason.value,
            record.team.value,
            record.status.value,
            str(record.attempts),
            record.last_seen[:19],
            record.detail[:120],
        )
    _console().print(table)


def _print_replay(result: Any) -> None:
    console = _console()
    verb = "sent" if result.sent else "would send (dry run)"
    console.print(f"{verb} to [bold]{result.queue}[/bold] ({result.queue_url}) for {result.exception_id}")
    console.print_json(json.dumps(result.message))


def _print_payload(view: Any) -> None:
    """The key on stderr, the payload alone on stdout: `hopline payload ID > msg.json` is an edit file."""
    print(f"archived at {view.key}", file=sys.stderr)
    print(view.body if isinstance(view.body, str) else json.dumps(view.body, indent=2, sort_keys=True))


def _print_resolve(record: Any) -> None:
    _console().print(f"{record.id}: {record.status.value} by {record.resolved_by}")


def _print_redrive(result: Any) -> None:
    console = _console()
    if result.method == "dry_run":
        console.print(f"{result.queue}: {result.waiting_before} message(s) in the DLQ; nothing moved (dry run)")
        for sample in result.sample:
            console.print_json(json.dumps(sample))
    elif result.method == "move_task":
        console.print(
            f"{result.queue}: SQS move task {result.task_handle} started for about {result.waiting_before} "
            "message(s); follow it in the console (DLQ -> 'Start DLQ redrive' tab)"
        )
    else:
        console.print(
            f"{result.queue}: moved {result.moved} of {result.waiting_before} message(s) back in {result.seconds:.1f} s"
        )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def _print_backlog(view: Any) -> None:
    console = _console()
    table = _table(
        f"Backlog at {view.at.strftime('%Y-%m-%d %H:%M:%S')} UTC (alarm above {_age(view.alarm_seconds)})",
        ["flow", "measured by", "waiting", "in flight", "oldest", ""],
    )
    for row in view.flows:
        table.add_row(
            row.flow,
            row.measured_by,
            str(row.waiting),
            str(row.in_flight),
            _age(row.oldest_seconds),
            "[bold red]OVER[/bold red]" if row.over_alarm else "",
        )
    console.print(table)
    for budget in view.budgets:
        waiting = f"order calls waiting {_age(budget.orders_waiting_seconds)}" if budget.orders_waiting_seconds else ""
        blocked = f"throttled, blocked {_age(budget.blocked_seconds)}" if budget.blocked_seconds else ""
        state = "; ".join(part for part in (waiting, blocked) if part) or "not limiting"
        console.print(f"budget {budget.key}: {budget.tokens:.1f} tokens; {state}")


_PRINTERS: dict[str, Callable[[Any], None]] = {
    "backlog": _print_backlog,
    "where": _print_where,
    "exceptions": _print_exceptions,
    "replay": _print_replay,
    "payload": _print_payload,
    "resolve": _print_resolve,
    "redrive": _print_redrive,
    "subscription": lambda result: print(
        f"subscription {result['key']}: {result['status']}, delivering to {result['destination']}"
    ),
}


def sandbox_operator(commands: list[str], *, interactive: bool, client: str) -> Callable[[Any], None]:
    """After a sandbox day: run operator commands against the in-process (moto) stack, by convention names."""

    def run(local: Any) -> None:
        from cli.main import CommandLineError, parse_operator_line

        lines = list(commands)
        if interactive:
            print(
                "hopline> operator commands against the sandbox (e.g. `exceptions`, `where SO-10003`); EOF ends",
                file=sys.stderr,
            )
            lines += [line for line in sys.stdin.read().splitlines() if line.strip()]
        for line in lines:
            try:
                args = parse_operator_line(line, client=client)
            except CommandLineError as error:  # `--ops` lines were checked before the day; typed ones were not
                print(f"hopline> {error}", file=sys.stderr)
                continue
            run_ops_command(
                args,
                Ops(
                    resources=resources_by_convention(client, local.runtime.sqs),
                    dynamodb=local.runtime.dynamodb,
                    sqs=local.runtime.sqs,
                    s3=local.runtime.s3,
                    source=local.config.settings_for(Role.ORDER_SOURCE).type,
                    reference_prefix=local.config.orders.reference_prefix,
                    clock=local.clock,
                ),
            )

    return run
