"""Importing a handler (Lambda's init phase) builds no AWS client: clients are built on first use and cached."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import boto3
import pytest

from shared import topology


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
