"""Two client brands in one account and region: one account stack, no clashing names, nag findings as pinned."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml

import app
from infra.account_stack import ACCOUNT_STACK_NAME, HoplineAccountStack
from infra.nag_suppressions import ACCOUNT_STACK, CLIENT_STACK
from infra.stack import HoplineClientStack
from tests.infra.nag_report import problems

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "infra" / "clients" / "example-cin7-scend.yaml"
CLIENTS = ("example-cin7-scend", "second-brand")
# The properties that carry a resource's physical name, by type: two stacks must never share one.
PHYSICAL_NAMES = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::ApiGateway::RestApi": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Events::Rule": "Name",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::KMS::Alias": "AliasName",
}


def second_client(directory: Path) -> None:
    """The example brand and a second one: same account and region, its own name and secrets."""
    (directory / EXAMPLE.name).write_text(EXAMPLE.read_text())
    data = yaml.safe_load(EXAMPLE.read_text())
    data["client"] = CLIENTS[1]
    for settings in data["platforms"].values():
        for key, value in settings.items():
            if key.endswith("_secret"):
                settings[key] = str(value).replace("example", "second")
    (directory / f"{CLIENTS[1]}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[cdk.App, Path]]:
    clients = tmp_path_factory.mktemp("clients")
    second_client(clients)
    outdir = tmp_path_factory.mktemp("cdk.out")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(app.CLIENTS_DIR_ENV, str(clients))
        built = app.build_app(list(CLIENTS), context={"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
        built.synth()
        yield built, outdir


def stacks(built: cdk.App) -> list[cdk.Stack]:
    return [child for child in built.node.children if isinstance(child, cdk.Stack)]


def template(outdir: Path, stack: cdk.Stack) -> dict[str, Any]:
    return json.loads((outdir / stack.template_file).read_text())


def test_two_clients_share_one_account_stack_and_no_physical_name(assembly: tuple[cdk.App, Path]) -> None:
    built, outdir = assembly
    # Given both brands synthesized into one account and region
    clients = [s for s in stacks(built) if isinstance(s, HoplineClientStack)]
    accounts = [s for s in stacks(built) if isinstance(s, HoplineAccountStack)]
    assert sorted(s.stack_name for s in clients) == [f"hopline-{c}" for c in sorted(CLIENTS)]
    assert [s.stack_name for s in accounts] == [ACCOUNT_STACK_NAME]
    # Then the account-level API Gateway setting exists once, in the account stack, and both depend on it
    settings = Counter(
        s.stack_name
        for s in stacks(built)
        for r in template(outdir, s)["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Account"
    )
    assert settings == Counter({ACCOUNT_STACK_NAME: 1})
    assert all(accounts[0] in s.dependencies for s in clients)
    # And no physical name or export is claimed twice across the assembly
    names: Counter[str] = Counter()
    for stack in stacks(built):
        body = template(outdir, stack)
        for resource in body["Resources"].values():
            name = resource.get("Properties", {}).get(PHYSICAL_NAMES.get(resource["Type"], ""))
            if isinstance(name, str):
                names[f"{resource['Type']} {name}"] += 1
        for output in body.get("Outputs", {}).values():
            if "Export" in output:
                names[f"export {json.dumps(output['Export']['Name'])}"] += 1
    assert len(names) > 100
    assert [name for name, count in names.items() if count > 1] == []


def test_every_nag_finding_in_the_assembly_is_pinned(assembly: tuple[cdk.App, Path]) -> None:
    built, outdir = assembly
    found = []
    for stack in stacks(built):
        pinned = ACCOUNT_STACK if isinstance(stack, HoplineAccountStack) else CLIENT_STACK
        found += problems(outdir, stack, template(outdir, stack), pinned)
    assert found == []


def test_reuse_account_role_leaves_the_account_stack_out(tmp_path: Path) -> None:
    # Given an account whose logging role another deployment already owns (nothing is synthesized here)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "add_client_stack", lambda *args, **kwargs: None)
        reused = app.build_app(CLIENTS[0], context={app.REUSE_ACCOUNT_ROLE: "true"}, outdir=str(tmp_path / "a"))
        owned = app.build_app(CLIENTS[0], outdir=str(tmp_path / "b"))
    # Then only the app that does not reuse it builds the account stack
    assert not [s for s in stacks(reused) if isinstance(s, HoplineAccountStack)]
    assert [s.stack_name for s in stacks(owned) if isinstance(s, HoplineAccountStack)] == [ACCOUNT_STACK_NAME]
