"""The submit claim's lease: long enough that a live holder never loses it, short enough that the cancellation
waits it out; and how the cancellation reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared import topology
from shared.config import RetryConfig
from shared.flows.cancellation import Place, locate

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LEASE = RetryConfig.model_fields["submit_lease_seconds"]


def _bound(kind: str) -> float:
    return next(float(getattr(m, kind)) for m in LEASE.metadata if hasattr(m, kind))


def test_no_lease_a_client_can_set_ends_while_the_submit_hop_may_still_run() -> None:
    # The hop's timeout bounds one attempt, every warehouse call and retry included: a holder still running
    # when its lease ends could create while the next holder, having looked first, creates too.
    assert _bound("ge") > topology.hop("order_submit").timeout_seconds
    assert RetryConfig().submit_lease_seconds >= 2 * topology.hop("order_submit").timeout_seconds


def test_the_cancellation_waits_longer_than_any_lease_a_client_can_set() -> None:
    policy = topology.SUBMIT_IN_FLIGHT
    waited = sum(policy.interval_seconds * policy.backoff_rate**n for n in range(policy.max_attempts))
    assert waited > _bound("le")


def test_the_default_lease_outlasts_one_warehouse_call_with_its_retries() -> None:
    retries = RetryConfig()
    one_call = retries.max_attempts * retries.timeout_seconds + (retries.max_attempts - 1) * retries.max_delay_seconds
    assert retries.submit_lease_seconds > one_call


@pytest.mark.parametrize(
    ("lease_until", "expected"),
    [
        (NOW + timedelta(seconds=1), Place.SUBMIT_IN_FLIGHT),  # the claim is held
        (NOW, Place.SUBMIT_UNCERTAIN),  # its lease is over: ask the warehouse
        (NOW - timedelta(seconds=1), Place.SUBMIT_UNCERTAIN),  # the holder gave it up early
    ],
)
def test_locate_reads_the_claims_lease(lease_until: datetime, expected: Place) -> None:
    started = NOW - timedelta(seconds=5)  # well inside a lease counted from the start
    assert (
        locate(
            cancelled=False,
            warehouse_order_id=None,
            submit_started_at=started,
            now=NOW,
            submit_lease_seconds=120,
            submit_lease_until=lease_until,
        )
        == expected
    )
