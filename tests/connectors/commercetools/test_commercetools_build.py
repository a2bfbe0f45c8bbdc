"""The connector as the runtime builds it: it names the hop that calls in its User-Agent (so the platform's
logs, and the sandbox, say which flow spent the calls) and reports its calls as every connector does."""

from __future__ import annotations

from typing import Any

from sandbox.simulators.commercetools import CommercetoolsMock
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.commercetools import CommercetoolsSettings
from shared.connectors.http import TokenBucket
from shared.connectors.registry import spec_for


class Context:
    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.http_timeout = 5.0
        self.user_agent = "hopline/order_intake"

    def budget(self, key: str, calls: int, per_seconds: float) -> Any:
        return TokenBucket(1000, per_seconds, self.clock, capacity=1000)


def test_the_built_connector_names_its_hop_and_reports_its_calls(
    ct_mock: CommercetoolsMock, ct_settings: CommercetoolsSettings
) -> None:
    secret = {"client_id": ct_mock.client_id, "client_secret": ct_mock.client_secret}
    retries = RetryConfig(max_attempts=2, base_delay_seconds=0, max_delay_seconds=0)
    ports = spec_for("commercetools").build("shop", ct_settings, secret, retries, Context())
    try:
        before = ct_mock.calls()
        assert not ports.subscription_health().exists
        # Then the mock saw the token and the read from order_intake, and the adapter counted both
        made = ct_mock.calls() - before
        assert made[("order_intake", "POST /oauth/token")] == 1
        assert made[("order_intake", f"GET /{ct_mock.project_key}/subscriptions/key=hopline-orders")] == 1
        assert ports.stats.calls == 2 and ports.stats is ports.client.stats
    finally:
        ports.close()
