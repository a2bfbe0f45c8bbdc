"""`hopline`: the operator's command line. `hopline sandbox run` drives a local day on moto + simulators."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from typing import Any, NoReturn


class CommandLineError(Exception):
    """A command line that does not parse; the message names the flag and what it expects."""


class _CheckingParser(argparse.ArgumentParser):
    """Raises instead of exiting, so `--ops` lines are checked before a sandbox day starts."""

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(f"{self.prog}: {message}")


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (1 or more), got {value!r}")
    return number


def _number(value: str, *, minimum: float, inclusive: bool) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not (number >= minimum if inclusive else number > minimum) or number == float("inf"):
        expected = "a number of 0 or more" if inclusive else f"a number above {minimum:g}"
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}")
    return number


def _positive_number(value: str) -> float:
    return _number(value, minimum=0.0, inclusive=False)


def _hours(value: str) -> float:
    return _number(value, minimum=0.0, inclusive=True)


def _rate(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1 (e.g. 0.05), got {value!r}")
    return number


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The whole command line; `parser_class` is `_CheckingParser` where a bad line must not exit."""
    parser = parser_class(prog="hopline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")
    sandbox = commands.add_parser("sandbox", help="local runs: moto for AWS, simulators for the platforms")
    sandbox_commands = sandbox.add_subparsers(
        dest="sandbox_command", required=True, metavar="COMMAND", help="what to run locally"
    )
    run = sandbox_commands.add_parser("run", help="drive a day of orders through the local wiring")
    run.add_argument("--client", default="example-cin7-scend", help="infra/clients/<client>.yaml")
    run.add_argument("--orders", type=_positive, default=200, help="sales authorised at Cin7 Core over the day")
    run.add_argument("--fault-rate", type=_rate, default=0.0, help="share of platform calls that meet a fault")
    run.add_argument("--duplicate-rate", type=_rate, default=0.0, help="share of webhooks delivered twice")
    run.add_argument("--missed-webhook-rate", type=_rate, default=0.03, help="share of sales with no webhook")
    run.add_argument("--seed", type=_integer, default=1, help="random seed: the same seed replays the same day")
    run.add_argument(
        "--hours",
        type=_positive_number,
        default=8.0,
        help="simulated hours of the whole day: orders over the first half (at most 10 h), then parcels, "
        "write-backs and retries come back (default 8: every flow runs; --hours 30 for a long day; the "
        "former 40-hour day is --day-hours 10 --follow-up-hours 30)",
    )
    run.add_argument("--day-hours", type=_positive_number, help="simulated trading hours the orders spread over")
    run.add_argument(
        "--follow-up-hours",
        type=_hours,
        help="simulated hours after the last order (late parcels ship at 80 %% of it, at most 26 h later)",
    )
    run.add_argument(
        "--warehouse-rejects-duplicates",
        action="store_true",
        help="simulate a warehouse that refuses a repeated reference (by default it accepts one, as "
        "the card does not say otherwise, so our own guards are what keep orders single)",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument(
        "--ops",
        action="append",
        default=[],
        metavar="COMMAND",
        help="after the day, run an operator command against the local stack, e.g. "
        "--ops 'exceptions --team operations' (repeatable)",
    )
    run.add_argument(
        "--interactive", action="store_true", help="after the day, read operator commands from stdin until EOF"
    )
    _add_ops_commands(commands)
    return parser


OPERATOR_COMMANDS = ("where", "exceptions", "replay", "payload", "resolve", "redrive", "backlog")


def parse_operator_line(line: str, *, client: str) -> argparse.Namespace:
    """One `--ops` (or interactive) line as the operator command it names, with the sandbox's names."""
    try:
        words = shlex.split(line)
    except ValueError as error:
        raise CommandLineError(f"{line!r}: {error}") from None
    if not words or words[0] not in OPERATOR_COMMANDS:
        raise CommandLineError(f"{line!r}: expected one of {', '.join(OPERATOR_COMMANDS)}, then its arguments")
    try:
        return build_parser(_CheckingParser).parse_args([*words, "--client", client, "--names", "convention"])
    except CommandLineError as error:
        raise CommandLineError(f"{line!r}: {error}") from None
    except SystemExit:  # -h / --help printed the command's help
        raise CommandLineError(f"{line!r}: asks for help; run `hopline {words[0]} --help` instead") from None


def _add_ops_commands(commands: Any) -> None:
    """`where`, `exceptions`, `replay`, `payload`, `resolve`, `redrive`, `backlog`, `subscription`: against a
    deployed stack or the sandbox."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--client", default="example-cin7-scend", help="client name (stack hopline-<client>)")
    common.add_argument("--json", action="store_true", help="print JSON instead of tables")
    common.add_argument("--profile", help="AWS profile (default: the usual AWS_PROFILE / default chain)")
    common.add_argument("--region", help="AWS region (default: the client config's region)")
    common.add_argument(
        "--endpoint-url", help="an AWS-compatible endpoint (e.g. LocalStack); implies --names convention"
    )
    common.add_argument(
        "--names",
        choices=["stack", "convention"],
        help="resolve resource names from the CloudFormation stack outputs (default) or as "
        "hopline-<client>-<name> (the sandbox)",
    )
    where = commands.add_parser("where", parents=[common], help="the whole cross-system timeline of one order")
    where.add_argument("order", help="order number, source id, client reference or order key")
    listing = commands.add_parser("exceptions", parents=[common], help="the exception inbox")
    listing.add_argument(
        "--team", choices=["operations", "ecommerce", "finance"], help="only the exceptions this team owns"
    )
    listing.add_argument("--reason", help="a reason code (docs/runbook.md lists them)")
    listing.add_argument(
        "--status",
        default="open",
        choices=["open", "retrying", "resolved", "ignored", "all"],
        help="only exceptions in this state (default: open)",
    )
    replay = commands.add_parser("replay", parents=[common], help="re-send an exception's message on current code")
    replay.add_argument("exception_id", help="the exception's id, as `hopline exceptions` lists it")
    replay.add_argument("--edit", metavar="FILE", help="a JSON file with the (corrected) message to send instead")
    replay.add_argument("--queue", help="send to this queue instead of the one the exception names")
    replay.add_argument("--dry-run", action="store_true", help="show what would be sent, and where; send nothing")
    replay.add_argument("--user", help="who is replaying (default: the login name)")
    payload = commands.add_parser(
        "payload", parents=[common], help="the archived payload an exception points at (to correct before a replay)"
    )
    payload.add_argument("exception_id", help="an exception id, or an archive key")
    resolve = commands.add_parser("resolve", parents=[common], help="close an exception fixed elsewhere, or ignore it")
    resolve.add_argument("exception_id", help="the exception's id, as `hopline exceptions` lists it")
    resolve.add_argument("--ignore", action="store_true", help="close as ignored (not worth fixing)")
    resolve.add_argument("--note", default="", help="why, for the next person")
    resolve.add_argument("--user", help="who is closing it (default: the login name)")
    backlog = commands.add_parser(
        "backlog", parents=[common], help="work waiting per flow and its oldest age; the shared rate budgets"
    )
    backlog.add_argument(
        "--alarm-seconds",
        type=_positive,
        default=None,
        help="flag a flow whose oldest work is older (default: the client's monitoring.backlog_alarm_seconds)",
    )
    subscription = commands.add_parser(
        "subscription",
        parents=[common],
        help="create or check the platform subscription that pushes order messages to the stack (commercetools)",
    )
    subscription.add_argument(
        "action", choices=["create", "check"], help="create it to the stack's queue when missing, or read its status"
    )
    redrive = commands.add_parser("redrive", parents=[common], help="move a queue's dead letters back to it")
    redrive.add_argument("queue", help="the work queue, e.g. order-intake (its DLQ is redriven)")
    redrive.add_argument("--rate", type=_positive_number, help="at most N messages per second")
    redrive.add_argument("--limit", type=_positive, help="move at most N messages (uses the receive/send loop)")
    redrive.add_argument("--manual", action="store_true", help="use the receive/send/delete loop, not the move task")
    redrive.add_argument("--dry-run", action="store_true", help="count and show a few messages; move nothing")


def _despatch_rows(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    wb = summary["writeback_exceptions"]
    latency = summary["writeback_latency_seconds"]
    return [
        ("Despatches by the warehouse (parcels)", f"{summary['shipments_seen']} ({summary['parcels_seen']})"),
        ("Despatches after the last despatch poll (in flight)", summary.get("despatches_after_last_poll", 0)),
        (
            "Despatches whose tracking is on the Cin7 sale / missing",
            f"{summary['despatches_written_back']} / {summary['despatches_not_written_back']}",
        ),
        ("Despatches refused by Cin7 after a void (for operations)", summary["despatches_refused_after_void"]),
        ("Despatches written back twice", summary["duplicate_shipments_applied"]),
        (
            "Orders shipped in full (closed) / in part",
            f"{summary['orders_shipped_in_full']} / {summary['orders_shipped_in_part']}",
        ),
        ("Write-backs retrying / failed (escalated)", f"{wb['retrying']} / {wb['open']}"),
        ("Despatch to write-back p50 / p95 (s)", f"{latency['p50']} / {latency['p95']}"),
    ]


def _catalogue_rows(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("Products synced to the warehouse / rejected", f"{summary['skus_synced']} / {summary['skus_rejected']}"),
        (
            "Orders held for a SKU / released when it went live",
            f"{summary['orders_held_for_sku']} / {summary['orders_released_after_sku']}",
        ),
        (
            "Product created to held order released p50 / max (s)",
            f"{summary['product_to_release_seconds']['p50']} / {summary['product_to_release_seconds']['max']}",
        ),
    ]


# What the other exceptions are about, as the summary's table names them.
EXCEPTION_SUBJECT_TITLES = {
    "orders_not_quarantined": "held or released orders flagged",
    "webhooks": "webhooks refused (no order)",
    "cancels": "cancels",
    "write_backs": "tracking write-backs",
    "skus": "SKUs / products",
    "stock": "stock",
}


def _print_summary(summary: dict[str, Any], wall: float) -> None:
    from rich.console import Console
    from rich.table import Table

    from sandbox.budget import format_budget

    console = Console()
    if "scenario" in summary:  # a pairing's own day (sandbox.scenarios): its rows, then the Cin7 budget
        from sandbox import scenarios

        table = Table(
            title=f"Hopline sandbox day: {summary['client']}  (seed {summary['seed']}, fault rate "
            f"{summary['fault_rate']}, duplicate rate {summary['duplicate_rate']})",
            show_header=False,
            title_justify="left",
        )
        table.add_column("what")
        table.add_column("value", justify="right")
        for label, value in scenarios.named(summary["scenario"]).summary_rows(summary):
            table.add_row(label, str(value))
        console.print(table)
        if "cin7_budget" in summary:
            print(format_budget(summary["cin7_budget"]))
        if summary["unexpected"]:
            console.print(f"[red]Unexpected outcomes:[/red] {summary['unexpected']}")
        console.print(f"Wall time {wall:.1f} s.")
        return
    title = (
        f"Hopline sandbox day: {summary['client']}  (seed {summary['seed']}, fault rate "
        f"{summary['fault_rate']}, duplicate rate {summary['duplicate_rate']})"
    )
    orders = summary["orders"]
    flow = Table(title=title, show_header=False, title_justify="left")
    flow.add_column("what")
    flow.add_column("count", justify="right")
    rows = [
        ("Orders authorised at Cin7 Core", summary["orders_sent"]),
        ("  of which valid for the warehouse", summary["unique_valid_orders"]),
        (
            "Webhooks accepted / rejected (401)",
            f"{summary['webhooks_accepted']} / {summary['webhooks_rejected_unauthorised']}",
        ),
        ("Webhooks duplicated by the source", summary["webhooks_duplicated"]),
        ("Sales with no webhook (found by the poll)", summary["webhooks_missed_recovered_by_poll"]),
        (
            "Orders received = released + held + skipped + quarantined + cancelled"
            + (" + undecided" if orders["undecided"] else ""),
            f"{orders['received']} = {orders['released']} + {orders['held']} + {orders['skipped']} + "
            f"{orders['quarantined']} + {orders['cancelled']}"
            + (f" + {orders['undecided']}" if orders["undecided"] else ""),
        ),
        ("  Released", orders["released"]),
        ("  Held (backordered, or waiting for a SKU)", orders["held"]),
        ("  Skipped (excluded location)", orders["skipped"]),
        ("  Quarantined (orders, by reason below)", orders["quarantined"]),
        ("  Cancelled before reaching the warehouse, or at it", orders["cancelled"]),
        ("Sent to the warehouse (unique orders)", summary["warehouse_orders"]),
        ("Duplicate orders at the warehouse", summary["duplicate_warehouse_orders"]),
        ("Duplicates suppressed", summary["duplicates_suppressed"]),
        (
            "Retries (HTTP / SQS redeliveries)",
            f"{summary['retries']['http']} / {summary['retries']['sqs_redeliveries']}",
        ),
        ("Throttled responses", summary["throttled_responses"]),
        ("Items in DLQs", summary["in_dlq"]),
        ("Lost (expected at the warehouse, not there)", summary["lost"]),
        ("At the warehouse unlike the source (lines, address, service)", summary["wrong_at_warehouse"]),
        (
            "Wrong outcome / bad orders at warehouse",
            f"{summary['wrong_outcome']} / {summary['bad_orders_reached_warehouse']}",
        ),
    ]
    if "shipments_seen" in summary:
        rows += _despatch_rows(summary)
    if "skus_synced" in summary:
        rows += _catalogue_rows(summary)
    if "cancels_requested" in summary:
        latency = summary["cancel_decision_latency_seconds"]
        rows += [
            ("Cancels requested (voided at Cin7 Core)", summary["cancels_requested"]),
            (
                "Cancelled before submit / at the warehouse",
                f"{summary['cancelled_before_submit']} / {summary['cancelled_at_warehouse']}",
            ),
            (
                "Refused: too late / despatched (return) / by the warehouse",
                f"{summary['cancels_refused_too_late']} / {summary['cancels_refused_return_started']} / "
                f"{summary['cancels_refused_by_warehouse']}",
            ),
            (
                "Cancel calls to the warehouse / refused by it",
                f"{summary['cancel_calls_to_the_warehouse']} / {summary['cancel_calls_refused_by_the_warehouse']}",
            ),
            (
                "Shipped or live after an accepted cancel",
                f"{summary['shipped_after_cancel']} / {summary['live_at_warehouse_after_cancel']}",
            ),
            ("Cancel request to outcome p50 / p95 (s)", f"{latency['p50']} / {latency['p95']}"),
        ]
    if "deltas_pushed" in summary:
        rows += [
            (
                "Stock reads (SKUs read) / stock events",
                f"{summary['stock_reads']} ({summary['skus_read']}) / {summary['stock_events_sent']}",
            ),
            (
                "Stock figures pushed / skipped unchanged",
                f"{summary['deltas_pushed']} / {summary['pushes_skipped_unchanged']}",
            ),
            ("Stock figures received at Scend", summary["stock_figures_received"]),
            (
                "Increases held for confirmation / spikes pushed",
                f"{summary['increases_awaiting_confirmation']} / {summary['spikes_pushed']} of {summary['spikes']}",
            ),
            (
                "Stock target calls (minimum)",
                f"{summary['stock_target_calls']} ({summary['stock_target_calls_minimum']})",
            ),
            (
                "Drifting SKUs / flagged (damage found)",
                f"{summary['drift_skus']} / {summary['drift_flagged']} "
                f"({summary['drift_damaged_skus_found']} of "
                f"{summary['drift_damaged_skus']})",
            ),
            ("SKUs pushed above Cin7 Available", summary["skus_pushed_above_master_available"]),
        ]
    for label, value in rows:
        flow.add_row(label, str(value))
    console.print(flow)
    if summary["quarantined"]:
        reasons = Table(title="Quarantined orders by reason (exception inbox)", title_justify="left")
        reasons.add_column("reason code")
        reasons.add_column("owner")
        reasons.add_column("orders", justify="right")
        from shared.models import ReasonCode, owner_of

        for reason, count in summary["quarantined"].items():
            reasons.add_row(reason, owner_of(ReasonCode(reason)).value, str(count))
        console.print(reasons)
    if summary.get("other_exceptions"):
        other = Table(title="Other open exceptions (not orders; exception inbox)", title_justify="left")
        other.add_column("about")
        other.add_column("reason code")
        other.add_column("count", justify="right")
        for subject, reasons_by_code in summary["other_exceptions"].items():
            for reason, count in reasons_by_code.items():
                other.add_row(EXCEPTION_SUBJECT_TITLES.get(subject, subject), reason, str(count))
        console.print(other)
    calls = summary["api_calls"]
    per_platform = ", ".join(
        f"{platform} {count} ({calls.get(f'{platform}_per_released_order')} per released order)"
        for platform, count in calls.items()
        if not platform.endswith("_per_released_order")
    )
    console.print(
        f"API calls, all flows (orders, write-backs, products, polls): {per_platform}. "
        f"Faults injected: {summary['faults_injected']}. Wall time {wall:.1f} s."
    )
    if "cin7_budget" in summary:
        print(format_budget(summary["cin7_budget"]))
    if summary["unexpected"]:
        console.print(f"[red]Unexpected outcomes:[/red] {summary['unexpected']}")


def run_sandbox(args: argparse.Namespace) -> int:
    from sandbox.scenario import Options, day_shape, failures, run_day
    from shared.errors import ConfigError

    for line in args.ops:  # checked before the day starts, not after it has run
        try:
            parse_operator_line(line, client=args.client)
        except CommandLineError as error:
            print(f"hopline sandbox run: --ops {error}", file=sys.stderr)
            return 2
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    shape = day_shape(args.hours, args.day_hours, args.follow_up_hours)
    options = Options(
        client=args.client,
        orders=args.orders,
        fault_rate=args.fault_rate,
        duplicate_rate=args.duplicate_rate,
        missed_webhook_rate=args.missed_webhook_rate,
        seed=args.seed,
        warehouse_rejects_duplicates=args.warehouse_rejects_duplicates,
        follow_up_hours=shape["follow_up_hours"],
        day_hours=shape["day_hours"],
        late_parcel_hours=shape["late_parcel_hours"],
    )
    after = None
    if args.ops or args.interactive:
        from cli.commands import sandbox_operator

        after = sandbox_operator(args.ops, interactive=args.interactive, client=args.client)
    try:
        result = run_day(options, after=after)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 2
    summary = result.summary
    if args.json:
        print(json.dumps({**summary, "wall_seconds": round(result.wall_seconds, 2)}, sort_keys=True))
    else:
        _print_summary(summary, result.wall_seconds)
    problems = failures(summary)
    if problems:
        print(f"hopline sandbox run: the day is not healthy: {'; '.join(problems)}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox" and args.sandbox_command == "run":
        return run_sandbox(args)
    from cli.commands import run_ops_command

    return run_ops_command(args)


if __name__ == "__main__":
    sys.exit(main())
