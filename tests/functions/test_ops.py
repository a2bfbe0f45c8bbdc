"""The `hopline` operator commands against the local stack on moto: where, exceptions, replay, resolve, redrive,
backlog."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from cli.main import main
from cli.ops import Ops, OpsError, resources_by_convention, resources_from_stack
from shared.stores.exceptions import ExceptionStatus
from shared.stores.ledger import Stage
from tests.functions.conftest import GOOD_ADDRESS, Harness

CLIENT = ["--client", "example-cin7-scend", "--names", "convention"]


def hopline(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    """Run the CLI with --json; returns (exit code, parsed stdout or the stderr text)."""
    code = main([*argv, *CLIENT, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else captured.err)


def ops_for(harness: Harness) -> Ops:
    rt = harness.rt
    return Ops(
        resources=resources_by_convention("example-cin7-scend", rt.sqs),
        dynamodb=rt.dynamodb,
        sqs=rt.sqs,
        s3=rt.s3,
        reference_prefix="EXA",
        clock=harness.clock,
    )


def quarantined_for_postcode(harness: Harness, number: str = "SO-3") -> tuple[str, str]:
    sale_id = harness.add_sale(number, address={**GOOD_ADDRESS, "Postcode": "LS1"})
    harness.webhook(sale_id)
    harness.local.drain()
    [record] = harness.rt.exceptions.list()
    return sale_id, record.id


def test_where_shows_the_whole_timeline_of_a_shipped_order_by_its_order_number(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an order taken in by webhook, created at the warehouse, shipped and written back
    sale_id = harness.add_sale("SO-1", lines=[("TEE-BLK-M", 2, Decimal("12.50"))])
    harness.webhook(sale_id)
    harness.local.drain()
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id.lower()}")
    [parcel] = harness.scend.ship_now(int(entry.warehouse_order_id))
    harness.local.run_schedule("poll_despatches")
    harness.local.drain()
    # When an operator asks where SO-1 is
    code, view = hopline(capsys, "where", "SO-1")
    # Then one timeline, in time order, across the ledger, the warehouse, the source and the archive
    assert code == 0
    assert view["order_number"] == "SO-1" and view["stage"] == "shipped" and view["closed"] is True
    events = [(e["system"], e["event"]) for e in view["timeline"]]
    times = [e["at"] for e in view["timeline"]]
    assert times == sorted(times)
    for expected in [
        ("hopline", "stage received"),
        ("hopline", "stage submitted"),
        ("archive", "payload webhook"),
        ("archive", "payload source-order"),
        ("archive", "payload warehouse-order"),
        ("archive", "payload warehouse-parcel"),
        ("archive", "payload source-writeback"),
        ("warehouse", f"parcel {parcel['DespatchId']} despatched"),
        ("cin7_core", f"parcel {parcel['DespatchId']} written back"),
        ("hopline", "stage shipped"),
    ]:
        assert expected in events
    assert len(view["payloads"]) >= 4
    # And the same order is found by its source id and by its warehouse reference
    assert hopline(capsys, "where", sale_id)[1]["order_key"] == view["order_key"]
    assert hopline(capsys, "where", "EXA-SO-1")[1]["order_key"] == view["order_key"]
    # And an unknown order is a clear error, not a crash
    code, error = hopline(capsys, "where", "SO-404")
    assert code == 1 and "no order 'SO-404'" in error


def test_exceptions_filter_by_team_reason_and_status(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    _, exception_id = quarantined_for_postcode(harness)
    code, listed = hopline(capsys, "exceptions", "--team", "operations")
    assert code == 0 and [e["id"] for e in listed] == [exception_id]
    assert listed[0]["reason"] == "postcode_invalid" and listed[0]["business_key"].startswith("cin7_core#")
    assert hopline(capsys, "exceptions", "--team", "ecommerce")[1] == []
    assert hopline(capsys, "exceptions", "--reason", "sku_unknown")[1] == []
    assert hopline(capsys, "exceptions", "--status", "resolved")[1] == []
    assert [e["id"] for e in hopline(capsys, "exceptions", "--status", "all")[1]] == [exception_id]


def test_replay_dry_run_sends_nothing_then_replay_runs_the_fixed_order_on_current_code(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an order quarantined for its postcode, which someone then fixes at Cin7
    sale_id, exception_id = quarantined_for_postcode(harness)
    harness.cin7.update_sale(sale_id, ShippingAddress={"Postcode": "LS1 1AA"})
    # When the operator dry-runs the replay
    code, dry = hopline(capsys, "replay", exception_id, "--dry-run")
    # Then it shows the message and the queue, and nothing is sent or changed
    assert code == 0 and dry["sent"] is False and dry["queue"] == "order-intake"
    assert dry["message"]["trigger"] == "replay" and dry["message"]["source_id"] == sale_id
    assert harness.queue_bodies("order-intake") == []
    assert harness.rt.exceptions.get(exception_id).status == ExceptionStatus.OPEN
    # When it replays for real / Then the exception is retrying, marked with who replayed it
    code, sent = hopline(capsys, "replay", exception_id, "--user", "sam")
    assert code == 0 and sent["sent"] is True
    record = harness.rt.exceptions.get(exception_id)
    assert (record.status, record.replayed_by) == (ExceptionStatus.RETRYING, "replay:sam")
    # And the order goes to the warehouse on the next drain, and the exception resolves itself
    harness.local.drain()
    assert harness.rt.ledger.get(f"cin7_core#{sale_id.lower()}").stage == Stage.SUBMITTED
    resolved = harness.rt.exceptions.get(exception_id)
    assert resolved.status == ExceptionStatus.RESOLVED and resolved.replayed_by == "replay:sam"
    # And `where` shows the quarantine, its resolution and the order reaching the warehouse, in order
    events = [e["event"] for e in hopline(capsys, "where", "SO-3")[1]["timeline"]]
    assert events.index("exception postcode_invalid (order_intake, operations)") < events.index("stage submitted")
    assert "exception resolved" in events


def test_replay_with_an_edited_message_is_validated_against_the_queues_model(
    harness: Harness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, exception_id = quarantined_for_postcode(harness)
    message = harness.rt.exceptions.get(exception_id).replay_message
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**message, "source_id": ""}))
    # When the edit breaks the message contract / Then nothing is sent and the error names the problem
    code, error = hopline(capsys, "replay", exception_id, "--edit", str(broken))
    assert code == 1 and "not a valid IntakeMessage" in error and "source_id" in error
    assert harness.queue_bodies("order-intake") == []
    # When the edit is valid / Then exactly that message is sent, and the edit is archived with the order
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps({**message, "event_type": "replayed-after-fix"}))
    code, sent = hopline(capsys, "replay", exception_id, "--edit", str(edited))
    assert code == 0 and sent["message"]["event_type"] == "replayed-after-fix"
    [body] = harness.queue_bodies("order-intake")
    assert body["event_type"] == "replayed-after-fix"
    keys = harness.rt.archive.list_order(harness.rt.exceptions.get(exception_id).business_key)
    assert any("-replay-edited-" in key for key in keys)


def test_an_unreadable_webhook_cannot_be_replayed_until_it_parses_but_can_be_resolved(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a webhook body that could not be parsed (archived and quarantined; still unreadable on current code)
    status, _ = harness.webhook("x", body="{not json")
    assert status == 202
    [record] = harness.rt.exceptions.list()
    assert record.payload_key and harness.rt.archive.get(record.payload_key) == b"{not json"
    code, error = hopline(capsys, "replay", record.id)
    assert code == 1 and "still does not parse" in error and "body is not JSON" in error
    assert harness.queue_bodies("order-intake") == []
    code, closed = hopline(capsys, "resolve", record.id, "--ignore", "--note", "test traffic", "--user", "sam")
    assert code == 0 and closed["status"] == "ignored" and closed["resolved_by"] == "person:sam"
    assert hopline(capsys, "exceptions")[1] == []


def malformed_submit(harness: Harness, number: str = "SO-8") -> tuple[str, dict[str, Any], str]:
    """An order released by intake whose order-submit message arrives malformed (its service a list)."""
    sale_id = harness.add_sale(number)
    harness.webhook(sale_id)
    harness.local.drain_queue("order-intake")
    [message] = harness.queue_bodies("order-submit")
    body = json.dumps({**message, "courier_service": [message["courier_service"]]})
    boto3.client("sqs").send_message(QueueUrl=harness.local.queue_urls["order-submit"], MessageBody=body)
    harness.local.drain()
    return sale_id, message, body


def test_a_malformed_queue_message_is_replayed_from_its_archived_copy_once_fixed(
    harness: Harness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a submit message that did not parse: quarantined, nothing at the warehouse
    sale_id, message, body = malformed_submit(harness)
    [record] = harness.rt.exceptions.list()
    assert (record.reason.value, record.flow, record.replay_queue) == (
        "payload_invalid",
        "order_submit",
        "order-submit",
    )
    assert record.replay_message is None and record.replay_payload == "message"
    assert "field 'courier_service' (string_type)" in record.detail
    assert harness.scend.orders() == []
    # And the exception points at the message exactly as received, in the archive
    code, shown = hopline(capsys, "payload", record.id)
    assert code == 0 and shown["key"] == record.payload_key and shown["body"] == json.loads(body)
    assert harness.rt.archive.get(record.payload_key).decode() == body
    # When the operator replays it unchanged / Then it is refused, naming the field and where the copy is
    code, error = hopline(capsys, "replay", record.id)
    assert code == 1 and "courier_service" in error and "hopline payload" in error
    assert harness.queue_bodies("order-submit") == []
    # When a replay of it (a producer fixed in part) still does not parse / Then the same exception counts it
    still_bad = {**message, "order": {**message["order"], "lines": "none"}}
    harness.rt.sqs.send_message(
        QueueUrl=harness.local.queue_urls["order-submit"],
        MessageBody=json.dumps(still_bad),
        MessageAttributes={"hopline_replay_of": {"DataType": "String", "StringValue": record.id}},
    )
    harness.local.drain()
    [again] = harness.rt.exceptions.list()
    assert again.id == record.id and again.attempts == 2 and "field 'order.lines'" in again.detail
    # When the operator fixes the archived copy and replays it
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**shown["body"], "courier_service": message["courier_service"]}))
    code, sent = hopline(capsys, "replay", record.id, "--edit", str(fixed), "--user", "sam")
    assert code == 0 and sent["queue"] == "order-submit"
    harness.local.drain()
    # Then the order is at the warehouse once, the ledger says submitted and the exception is resolved
    assert len(harness.scend.orders_by_reference()["EXA-SO-8"]) == 1
    assert harness.rt.ledger.get(f"cin7_core#{sale_id.lower()}").stage == Stage.SUBMITTED
    resolved = harness.rt.exceptions.get(record.id)
    assert resolved.status == ExceptionStatus.RESOLVED and resolved.replayed_by == "replay:sam"
    assert [r.id for r in harness.rt.exceptions.list()] == []


def test_a_quarantined_webhook_is_rebuilt_from_its_archived_body_once_the_parser_accepts_it(
    harness: Harness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.connectors.cin7_core import webhooks

    # Given a sale webhook whose body spells the sale id's key in a way the parser refuses
    sale_id = harness.add_sale("SO-9")
    payload = {
        ("SaleId" if key == "SaleID" else key): value for key, value in harness.cin7.webhook_payload(sale_id).items()
    }
    harness.webhook(sale_id, body=json.dumps(payload))
    [record] = harness.rt.exceptions.list()
    assert (record.flow, record.replay_queue, record.replay_payload) == (
        "webhook_receiver",
        "order-intake",
        "cin7_sale_webhook",
    )
    # When the parser is fixed to accept that spelling, and the operator replays the exception
    parse = webhooks.parse_sale_event

    def tolerant(body: bytes | str) -> webhooks.SaleEvent:
        data = json.loads(body)
        return parse(json.dumps({("SaleID" if key.casefold() == "saleid" else key): v for key, v in data.items()}))

    monkeypatch.setattr(webhooks, "parse_sale_event", tolerant)
    code, sent = hopline(capsys, "replay", record.id, "--user", "sam")
    # Then the message the receiver would have sent goes to intake, naming the archived webhook
    assert code == 0 and sent["queue"] == "order-intake"
    assert sent["message"]["source_id"] == sale_id.lower() and sent["message"]["trigger"] == "replay"
    assert sent["message"]["archive_key"] == record.payload_key
    # And the order reaches the warehouse once, and the webhook's exception is resolved by the replay
    harness.local.drain()
    assert len(harness.scend.orders_by_reference()["EXA-SO-9"]) == 1
    resolved = harness.rt.exceptions.get(record.id)
    assert (resolved.status, resolved.resolved_by) == (ExceptionStatus.RESOLVED, "replay:sam")


def test_an_unreadable_product_row_replays_through_the_mapping_once_it_is_fixed(
    harness: Harness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.connectors.cin7_core import mapping

    # Given a product row the feed could not map (a weight unit it does not know), archived and quarantined
    harness.cin7.add_product("ODD-UNIT", "Odd unit", weight=Decimal(3))
    harness.cin7.update_product("ODD-UNIT", WeightUnits="stone")
    harness.local.run_schedule("poll_products")
    harness.local.drain()
    [record] = harness.rt.exceptions.list()
    assert (record.replay_queue, record.replay_payload) == ("product-sync", "cin7_product_row")
    # When it is replayed on the same code / Then it is refused with the mapping's reason
    code, error = hopline(capsys, "replay", record.id)
    assert code == 1 and "still does not map" in error and "stone" in error
    # When the mapping learns the unit and the operator replays it
    to_product = mapping.to_product
    monkeypatch.setattr(mapping, "to_product", lambda row: to_product({**row, "WeightUnits": "kg"}))
    code, sent = hopline(capsys, "replay", record.id)
    assert code == 0 and sent["queue"] == "product-sync" and sent["message"]["product"]["sku"] == "ODD-UNIT"
    harness.local.drain()
    # Then the product is live at the warehouse and the row's exception is resolved
    assert harness.rt.sku_map.get("ODD-UNIT").status.value == "live"
    assert harness.rt.exceptions.get(record.id).status == ExceptionStatus.RESOLVED


def park(harness: Harness, queue: str, count: int) -> None:
    sqs = boto3.client("sqs")
    for index in range(count):
        sqs.send_message(
            QueueUrl=harness.local.dlq_urls[queue],
            MessageBody=json.dumps({"client": "example-cin7-scend", "n": index}),
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
        )


def test_redrive_moves_dead_letters_back_at_the_capped_rate(harness: Harness) -> None:
    # Given 23 messages parked in the order-submit DLQ
    park(harness, "order-submit", 23)
    ops = ops_for(harness)
    # When a dry run looks / Then it counts and shows some, and moves nothing
    dry = ops.redrive("order-submit", dry_run=True)
    assert (dry.method, dry.waiting_before, dry.moved) == ("dry_run", 23, 0)
    assert dry.sample and dry.sample[0]["body"]["client"] == "example-cin7-scend"
    # When redriven at 5 messages a second (moto has no message move task: the receive/send/delete loop runs)
    started = harness.clock.now()
    result = ops.redrive("order-submit", rate=5)
    # Then all 23 are back on the work queue with their attributes, none left, and it took >= 23/5 s
    assert (result.method, result.moved) == ("manual", 23)
    assert (harness.clock.now() - started).total_seconds() >= 23 / 5 - 1
    moved = boto3.client("sqs").receive_message(
        QueueUrl=harness.local.queue_urls["order-submit"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert moved[0]["MessageAttributes"]["origin"]["StringValue"] == "test"
    assert ops.redrive("order-submit", dry_run=True).waiting_before == 0


def test_redrive_uses_the_move_task_where_sqs_offers_it(harness: Harness) -> None:
    # Given an SQS endpoint that offers StartMessageMoveTask (AWS does; moto does not)
    park(harness, "order-intake", 3)
    ops = ops_for(harness)
    calls: list[dict[str, Any]] = []

    class WithMoveTask:
        def __init__(self, inner: Any):
            self.inner = inner

        def start_message_move_task(self, **params: Any) -> dict[str, str]:
            calls.append(params)
            return {"TaskHandle": "handle-1"}

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    ops.sqs = WithMoveTask(ops.sqs)
    # When redriven with a rate / Then one move task from the DLQ's ARN back to its source, at that rate
    result = ops.redrive("order-intake", rate=20)
    assert (result.method, result.task_handle) == ("move_task", "handle-1")
    assert calls == [{"SourceArn": calls[0]["SourceArn"], "MaxNumberOfMessagesPerSecond": 20}]
    assert calls[0]["SourceArn"].endswith(":hopline-example-cin7-scend-order-intake-dlq")
    # And an unknown queue is refused clearly
    with pytest.raises(OpsError, match="unknown queue"):
        ops.redrive("nowhere")


def test_names_come_from_the_deployed_stacks_outputs(aws: None) -> None:
    # Given a stack named as infra names it, with the outputs infra/stack.py writes
    from shared import topology

    def pascal(name: str) -> str:
        return "".join(p.capitalize() for p in name.replace("_", "-").split("-"))

    outputs = {f"Table{pascal(t.name)}": f"generated-{t.name}" for t in topology.TABLES}
    outputs |= {f"QueueUrl{pascal(q.name)}": f"https://sqs/{q.name}" for q in topology.QUEUES}
    outputs |= {f"DeadLetterQueueUrl{pascal(q.name)}": f"https://sqs/{q.name}-dlq" for q in topology.QUEUES}
    outputs |= {f"Bucket{pascal(b.name)}": f"generated-bucket-{b.name}" for b in topology.BUCKETS}
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(StackName="hopline-acme", TemplateBody=json.dumps(template))
    # When the names are resolved / Then tables and buckets have the generated names, queues their URLs
    resources = resources_from_stack("acme", cloudformation)
    assert resources.tables["ledger"] == "generated-ledger"
    assert resources.dead_letter_queues["order-intake"] == "https://sqs/order-intake-dlq"
    assert resources.buckets["archive"] == "generated-bucket-archive"
    # And a missing stack is a clear error
    with pytest.raises(OpsError, match="stack hopline-other not found"):
        resources_from_stack("other", cloudformation)


def test_a_sandbox_day_can_end_with_operator_commands(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a short sandbox day that ends with two operator commands (`hopline sandbox run --ops ...`)
    from cli.commands import sandbox_operator
    from sandbox.scenario import Options, run_day

    after = sandbox_operator(
        ["exceptions --status all --json", "where SO-10000 --json"], interactive=False, client="example-cin7-scend"
    )
    result = run_day(Options(orders=6, seed=4, follow_up_hours=0.5, late_parcel_hours=0.25), after=after)
    # Then each command answered against the same local stack the day ran on
    listed, where = (json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip())
    assert result.summary["orders_sent"] == 6
    assert isinstance(listed, list)
    assert where["order_number"] == "SO-10000"
    assert ("hopline", "stage received") in [(e["system"], e["event"]) for e in where["timeline"]]


def test_backlog_shows_per_flow_what_waits_and_the_oldest_age_and_whether_the_budget_holds_orders_back(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an order released 12 minutes ago and not yet submitted, three stock messages waiting (SQS says the
    # oldest is 7 minutes old), and the Cin7 budget holding an order call back for 5 more seconds
    sale_id = harness.add_sale("SO-40")
    harness.webhook(sale_id)
    [intake] = harness.queue_bodies("order-intake")
    harness.invoke("order_intake", harness.sqs_event(intake))
    harness.clock.advance(12 * 60)
    now = harness.clock.now()
    sqs, cloudwatch = boto3.client("sqs"), boto3.client("cloudwatch")
    stock = harness.local.queue_urls["stock-sync"]
    for index in range(3):
        sqs.send_message(QueueUrl=stock, MessageBody=json.dumps({"n": index}))
    cloudwatch.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": stock.rsplit("/", 1)[-1]}],
                "Value": 420,
                "Timestamp": now - timedelta(minutes=1),
            }
        ],
    )
    budget = harness.rt.table("rate-budgets")
    budget.put_item(
        Item={
            "pk": "cin7_core:acct-123456",
            "tokens": Decimal("0.2"),
            "stamp": Decimal(str(now.timestamp())),
            "blocked_until": Decimal(0),
            "orders_waiting_until": Decimal(str(now.timestamp() + 5)),
            "version": 3,
        }
    )
    # When an operator asks for the backlog, flagging work older than ten minutes
    ops = ops_for(harness)
    ops.cloudwatch = cloudwatch
    view = ops.backlog(alarm_seconds=600)
    rows = {row.measured_by: row for row in view.flows}
    # Then the order counts under orders with its 12-minute wait, over the alarm
    orders = rows["ledger released"]
    assert (orders.flow, orders.waiting, orders.oldest_seconds, orders.over_alarm) == ("orders", 1, 720.0, True)
    # And the stock queue shows its three messages and SQS's age, under the alarm; idle queues show nothing
    stock_row = rows["queue stock-sync"]
    assert (stock_row.flow, stock_row.waiting, stock_row.oldest_seconds, stock_row.over_alarm) == (
        "stock",
        3,
        420.0,
        False,
    )
    assert rows["queue order-submit"].waiting == 1 and rows["queue shipment-writeback"].oldest_seconds is None
    # And the budget: an order call waits for a token; the account is shown by its last four characters only
    [state] = [budget for budget in view.budgets if budget.key == "cin7_core:...3456"]
    assert state.orders_waiting_seconds == pytest.approx(5.0) and state.blocked_seconds == 0
    assert "acct-123456" not in json.dumps([budget.model_dump(mode="json") for budget in view.budgets])
    # And the command line prints the same as JSON
    code, printed = hopline(capsys, "backlog", "--alarm-seconds", "600")
    assert code == 0 and printed["flows"][0]["waiting"] == 1
    assert "cin7_core:...3456" in {budget["key"] for budget in printed["budgets"]}
    # And as a table (on the wall clock: the order has waited days by now), one line per budget after it
    assert main(["backlog", *CLIENT]) == 0
    table = capsys.readouterr().out
    assert "OVER" in table and "budget cin7_core:...3456: 0.2 tokens" in table
