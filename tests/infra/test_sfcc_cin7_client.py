"""The SFCC -> Cin7 Core example client validates and synthesizes: a polled source gets no webhook route of its
own (Cin7's stock webhook is the only one), stock hops draw on the Cin7 budget behind orders, and a pipeline
asking a platform for a role its connector does not build fails synth, naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk.assertions import Template

import app
from shared import topology
from shared.config import load_client_config
from shared.errors import ConfigError

pytestmark = pytest.mark.infra

CLIENT = "example-sfcc-cin7"
EXAMPLE = Path(__file__).resolve().parents[2] / "infra" / "clients" / f"{CLIENT}.yaml"


def test_the_example_synthesizes_orders_cancellation_and_stock_with_only_cin7s_stock_webhook(tmp_path: Path) -> None:
    config = load_client_config(EXAMPLE)
    built_topology = topology.for_config(config)
    hops = {hop.name: hop for hop in built_topology.hops}
    assert {"poll_sales", "order_intake", "order_submit", "lookup_cancellation", "read_stock", "push_stock"} <= set(
        hops
    )
    assert {"poll_despatches", "apply_shipment", "retry_writebacks"} <= set(hops)  # shipments: Cin7 Core -> SFCC
    # SFCC declares no inbound channel: the one route is Cin7's stock webhook
    assert [route.path for route in built_topology.routes] == ["/webhooks/cin7/stock"]
    # Every hop that reads Cin7 for stock stands aside for the order hops in the one Cin7 budget
    assert {hops[name].priority for name in ("read_stock", "push_stock", "poll_products", "sync_product")} == {
        "background"
    }
    assert {hops[name].priority for name in ("poll_sales", "order_intake", "order_submit")} == {"orders"}
    built = app.build_app(CLIENT, context={"aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    stack = built.node.find_child(f"hopline-{CLIENT}")
    assert isinstance(stack, cdk.Stack)
    template = Template.from_stack(stack).to_json()
    resources: dict[str, Any] = template["Resources"]
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    poll = next(f for f in functions if f["Handler"] == "functions.poll_sales.handler.lambda_handler")
    assert (
        poll["Environment"]["Variables"]["SECRET_ORDER_SOURCE_CREDENTIALS_SECRET"] == "hopline/example-sfcc-cin7/sfcc"
    )
    push = next(f for f in functions if f["Handler"] == "functions.push_stock.handler.lambda_handler")
    variables = push["Environment"]["Variables"]
    assert variables["SECRET_STOCK_TARGET_CREDENTIALS_SECRET"] == "hopline/example-sfcc-cin7/sfcc"
    assert variables["SECRET_STOCK_MASTER_CREDENTIALS_SECRET"] == "hopline/example-sfcc-cin7/cin7-core"
    # The same Cin7 application as the order hops: one 60-a-minute bucket, keyed by its account
    submit = next(f for f in functions if f["Handler"] == "functions.order_submit.handler.lambda_handler")
    cin7_key = submit["Environment"]["Variables"]["SECRET_ORDER_TARGET_CREDENTIALS_SECRET"]
    assert cin7_key == variables["SECRET_STOCK_MASTER_CREDENTIALS_SECRET"]
    schedules = {
        r["Properties"].get("ScheduleExpression") for r in resources.values() if r["Type"] == "AWS::Events::Rule"
    }
    assert {"rate(1 minute)", "rate(2 minutes)"} <= schedules
    outputs = {key for key in template.get("Outputs", {}) if key.startswith("WebhookUrl")}
    assert outputs == {"WebhookUrlCin7Stock"}


def test_a_pipeline_asking_for_a_role_not_built_fails_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pipelines"]["shipments"] = {"from": "sfcc", "to": "cin7"}
    data["pipelines"]["stock"]["drift_location"] = "Main Warehouse"  # drift needs the target's own figures
    path = tmp_path / f"{CLIENT}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv(app.CLIENTS_DIR_ENV, str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        app.load_config(CLIENT)
    message = str(raised.value)
    assert str(path) in message
    assert "field 'pipelines.shipments.from': Salesforce Commerce Cloud ('sfcc') cannot play shipment_source" in message
    assert "field 'pipelines.stock.to': Salesforce Commerce Cloud ('sfcc') cannot play stock_reader" in message
