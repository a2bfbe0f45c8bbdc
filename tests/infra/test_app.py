"""The CDK entry point: a config mistake stops `cdk synth` with the file, the field and the problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import app
from shared.errors import ConfigError

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
CLIENT = "example-cin7-scend"
EXAMPLE = ROOT / "infra" / "clients" / f"{CLIENT}.yaml"


def write_client(directory: Path, change: Any) -> Path:
    """The example client file with one mistake made by `change(data)`."""
    data = yaml.safe_load(EXAMPLE.read_text())
    change(data)
    path = directory / f"{CLIENT}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_app(context: dict[str, Any], tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(tmp_path / "cdk.out"),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        **environ,
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        pytest.param(
            lambda d: d["platforms"]["cin7"].update(webhook_secrett="x"),
            "platforms.cin7.webhook_secrett",
            "unknown key",
            id="unknown-key",
        ),
        pytest.param(
            lambda d: d["platforms"]["scend"].pop("credentials_secret"),
            "platforms.scend.credentials_secret",
            "required field is missing",
            id="missing-credentials-secret",
        ),
        pytest.param(
            lambda d: d["pipelines"]["orders"].update(poll_schedule="cron(0 12 * * *)"),
            "pipelines.orders.poll_schedule",
            "cron needs 6 fields",
            id="five-field-cron",
        ),
        pytest.param(
            lambda d: d["retries"].update(queue_max_receive_count=-1),
            "retries.queue_max_receive_count",
            "greater than or equal to 1",
            id="negative-max-receive-count",
        ),
    ],
)
def test_a_config_mistake_names_the_file_the_field_and_the_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any, field: str, problem: str
) -> None:
    # Given a client file with one mistake, in a clients folder app.py is pointed at
    path = write_client(tmp_path, change)
    monkeypatch.setenv(app.CLIENTS_DIR_ENV, str(tmp_path))
    # When the app loads it
    with pytest.raises(ConfigError) as raised:
        app.load_config(CLIENT)
    # Then the message says where and what
    message = str(raised.value)
    assert str(path) in message
    assert f"'{field}'" in message
    assert problem in message


def test_synth_of_the_example_client_succeeds(tmp_path: Path) -> None:
    result = run_app({"client": CLIENT, "aws:cdk:bundling-stacks": []}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cdk.out" / f"hopline-{CLIENT}.template.json").is_file()


def test_synth_of_a_broken_client_fails_with_the_file_and_field(tmp_path: Path) -> None:
    clients = tmp_path / "clients"
    clients.mkdir()
    path = write_client(clients, lambda d: d["retries"].update(queue_max_receive_count=0))
    result = run_app({"client": CLIENT}, tmp_path, **{app.CLIENTS_DIR_ENV: str(clients)})
    assert result.returncode == 1
    assert str(path) in result.stderr
    assert "'retries.queue_max_receive_count'" in result.stderr
    assert not (tmp_path / "cdk.out" / f"hopline-{CLIENT}.template.json").exists()


def test_synth_without_a_client_prints_usage_and_exits_2(tmp_path: Path) -> None:
    result = run_app({}, tmp_path)
    assert result.returncode == 2
    assert "client=NAME" in result.stderr
