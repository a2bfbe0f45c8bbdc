"""The SFCC -> Cin7 Core example client validates and synthesizes: a polled source gets no webhook receiver,
and a pipeline asking a platform for a role its connector does not build fails synth, naming the field."""

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


def test_the_example_synthesizes_the_orders_and_cancellation_pipelines_without_a_webhook_api(tmp_path: Path) -> None:
    config = load_client_config(EXAMPLE)
    hops = {hop.name for hop in topology.for_config(config).hops}
    assert {"poll_sales", "order_intake", "order_submit", "lookup_cancellation"} <= hops
    assert "webhook_receiver" not in hops  # SFCC declares no inbound channel
    built = app.build_app(CLIENT, context={"aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    stack = built.node.find_child(f"hopline-{CLIENT}")
    assert isinstance(stack, cdk.Stack)
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    assert not [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    poll = next(f for f in functions if f["Handler"] == "functions.poll_sales.handler.lambda_handler")
    assert (
        poll["Environment"]["Variables"]["SECRET_ORDER_SOURCE_CREDENTIALS_SECRET"] == "hopline/example-sfcc-cin7/sfcc"
    )
    schedules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert "rate(1 minute)" in {rule.get("ScheduleExpression") for rule in schedules}


def test_a_pipeline_asking_for_a_role_not_built_fails_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pipelines"]["shipments"] = {"from": "cin7", "to": "sfcc"}
    data["pipelines"]["stock"] = {"from": "cin7", "to": "sfcc", "locations": {"Main Warehouse": "inventory_m"}}
    path = tmp_path / f"{CLIENT}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setenv(app.CLIENTS_DIR_ENV, str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        app.load_config(CLIENT)
    message = str(raised.value)
    assert str(path) in message
    assert "field 'pipelines.shipments.from': Cin7 Core ('cin7') cannot play shipment_source" in message
    assert "field 'pipelines.stock.to': Salesforce Commerce Cloud ('sfcc') cannot play stock_target" in message
