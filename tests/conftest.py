"""Shared fixtures: the example client config, a virtual clock, moto with fake credentials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything builds a boto3 client: fake credentials and a region, never a real account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_REGION": "eu-west-2",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_SERVICE_NAME": "hopline-tests",
        "POWERTOOLS_METRICS_NAMESPACE": "Hopline",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
)
os.environ.pop("AWS_PROFILE", None)

from shared.clock import VirtualClock
from shared.config import ClientConfig, load_client_config
from tests import endpoint_recorder

endpoint_recorder.install()

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "infra" / "clients" / "example-cin7-scend.yaml"
EVENTS = Path(__file__).resolve().parent / "events"


@pytest.fixture(autouse=True)
def connectors_call_only_documented_endpoints() -> Iterator[None]:
    """Every request a connector sends during a test must be an endpoint (and query parameters) listed in
    docs/platforms/<platform>.md: a connector calling anything else fails the test that made it call."""
    endpoint_recorder.clear()
    yield
    problems = endpoint_recorder.problems()
    endpoint_recorder.clear()
    if problems:
        pytest.fail("a connector called what docs/platforms/ does not list:\n  " + "\n  ".join(problems))


@pytest.fixture
def fresh_handler_modules() -> Iterator[None]:
    """A handler module reads its hop's environment when imported (the sandbox imports it with exactly that):
    one a test imports outside any hop must not stay cached for a later sandbox in the same process."""
    import sys

    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("functions."):
            del sys.modules[name]


@pytest.fixture(scope="session")
def example_config() -> ClientConfig:
    return load_client_config(EXAMPLE)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield
