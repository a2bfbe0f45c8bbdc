"""The SFCC simulator on localhost and a connector pointed at it, on one virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.simulators.sfcc import SfccSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.sfcc import SfccClient, SfccSettings

CLIENT_ID, CLIENT_SECRET = "hopline-orders", "s3cret-value"


def settings_for(simulator: SfccSimulator, **overrides: Any) -> SfccSettings:
    fields: dict[str, Any] = {
        "credentials_secret": "hopline/sfcc/credentials",
        "short_code": "kv7kzm78",
        "organization_id": simulator.organization_id,
        "site_id": simulator.site_id,
        "instance_host": "zzxy-prd.dx.commercecloud.salesforce.com",
        "auth_url": simulator.url + "dwsso/oauth2/access_token",
        "scapi_base_url": simulator.url,
        "ocapi_base_url": simulator.url,
        "inventory_list_id": "inventory_m",
        "retry": RetryConfig(max_attempts=3, base_delay_seconds=0.5, max_delay_seconds=2.0, timeout_seconds=5.0),
    }
    return SfccSettings.model_validate({**fields, **overrides})


@pytest.fixture
def simulator(clock: VirtualClock) -> Iterator[SfccSimulator]:
    with SfccSimulator(CLIENT_ID, CLIENT_SECRET, clock=clock) as running:
        assert isinstance(running, SfccSimulator)
        yield running


@pytest.fixture
def make_client(simulator: SfccSimulator, clock: VirtualClock) -> Iterator[Any]:
    made: list[SfccClient] = []

    def make(http: httpx.Client | None = None, **overrides: Any) -> SfccClient:
        client = SfccClient(settings_for(simulator, **overrides), CLIENT_ID, CLIENT_SECRET, clock=clock, http=http)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Any) -> SfccClient:
    made: SfccClient = make_client()
    return made
