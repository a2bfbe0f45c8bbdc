"""Importing a handler (Lambda's init phase) builds no AWS client: clients are built on first use and cached."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared import topology

ROOT = Path(__file__).resolve().parents[2]


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("an AWS client was built while importing a handler")


@pytest.mark.parametrize("hop", topology.HOPS, ids=lambda hop: hop.name)
def test_importing_a_handler_builds_no_aws_client(
    hop: topology.Hop, fresh_handler_modules: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.modules.pop(hop.module, None)
    for name in ("client", "resource", "Session"):
        monkeypatch.setattr(boto3, name, _refuse)
    monkeypatch.setattr(boto3.session, "Session", _refuse)
    module = importlib.import_module(hop.module)
    assert callable(module.lambda_handler)


def test_the_patch_would_catch_a_client_built_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "client", _refuse)
    with pytest.raises(AssertionError):
        boto3.client("sqs")


# -- what a hop's import loads: its own step's models and decisions, not every hop's --------------------------

_DECLARATIONS = ("shared.topology.build", "shared.topology.hops", "shared.topology.machines", "shared.topology.alerts")
_MESSAGE_MODULES = {
    "shared.models.messages.orders",
    "shared.models.messages.shipments",
    "shared.models.messages.returns",
    "shared.models.messages.products",
    "shared.models.messages.cancellation",
}


def _loaded_by_import(module: str) -> set[str]:
    """The project's modules a fresh interpreter holds after importing `module` (as a Lambda init phase)."""
    probe = f"import sys; import {module}; print('\\n'.join(m for m in sys.modules if m.startswith('shared.')))"
    done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return set(done.stdout.decode().split())


@pytest.fixture(scope="module")
def loaded() -> dict[str, set[str]]:
    return {hop.name: _loaded_by_import(hop.module) for hop in topology.HOPS}


def test_no_hop_import_loads_the_hop_or_machine_declarations(loaded: dict[str, set[str]]) -> None:
    """A running hop reads the environment names and its config's channels; the declarations are infra's."""
    assert {name: sorted(mods & set(_DECLARATIONS)) for name, mods in loaded.items() if mods & set(_DECLARATIONS)} == {}


def test_a_hop_loads_only_the_message_modules_its_own_messages_live_in(loaded: dict[str, set[str]]) -> None:
    """Cancellation tasks load the cancellation messages, the stock pusher none: not every queue's models."""
    cancellation = {h.name for h in topology.HOPS if h.pipeline == "cancellation"}
    for name, mods in loaded.items():
        messages = mods & _MESSAGE_MODULES
        if name in cancellation:
            assert messages == {"shared.models.messages.cancellation"}, name
        elif name in {"push_stock", "read_stock", "reconcile_stock", "webhook_receiver", "reconcile_orders"}:
            assert messages == set(), name


def test_a_hop_that_carries_no_order_builds_no_order_models(loaded: dict[str, set[str]]) -> None:
    for name in ("push_stock", "read_stock", "poll_products", "apply_shipment", "apply_return", "webhook_receiver"):
        assert "shared.models.order" not in loaded[name], name
    assert "shared.models.order" in loaded["order_submit"]  # the probe sees an order hop's order models
