"""Orders first while SFCC sheds load: a THROTTLE window over the first catalogue sync (45 products, 180
prices) delays the release poll by one throttle spacing at most, and the sync still completes."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.scenario import Options, failures, run_day
from shared.config import config_for_client

pytestmark = pytest.mark.e2e

POLL_EVERY_SECONDS = 60  # the example client's release poll
DRAIN_ROUND_SECONDS = 1.0  # the sandbox's queue poller advances the clock this far between rounds


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """An hour of trading: the first catalogue sync runs at 15 minutes, inside a window of 12-36 minutes
    in which every SFCC answer says `sfdc_load_status THROTTLE`."""
    options = Options(client="example-sfcc-cin7", orders=10, seed=7, day_hours=1.0, follow_up_hours=0.3)
    options.sfcc_load_window = (0.2, 0.6)  # type: ignore[attr-defined]
    return run_day(options).summary


def test_background_work_gives_way_to_the_release_poll_while_sfcc_sheds_load(summary: dict[str, Any]) -> None:
    spacing = config_for_client("example-sfcc-cin7").platforms["sfcc"].budget.throttle_backoff_seconds  # type: ignore[attr-defined]
    load = summary["sfcc_load_shedding"]
    # Given the window really held background work: the catalogue sync's records were left for later
    assert load["release_polls_in_window"] > 0 and load["background_records_left_for_later"] > 0
    # Then the release poll ran at most one throttle spacing behind background work after it was due (and
    # one behind order work: a stock decrease goes at order priority), not the thousands of seconds of a
    # catalogue sync run to its end
    assert load["release_poll_longest_late_in_window_seconds"] <= 2 * spacing + 2 * DRAIN_ROUND_SECONDS
    assert load["release_poll_longest_gap_seconds"] < POLL_EVERY_SECONDS + 4 * spacing


def test_every_product_and_price_still_reaches_sfcc_and_nothing_dead_letters(summary: dict[str, Any]) -> None:
    assert failures(summary) == [], summary["unexpected"]
    # Every SKU's price in every book is Cin7's (the sync finished after the window), fields as owned
    assert summary["price_books_wrong"] == 0 and summary["price_writes_not_a_change"] == 0
    assert summary["cin7_owned_field_synced"] is True and summary["site_owned_fields_overwritten"] == 0
    # And giving way never counted toward a DLQ
    assert summary["in_dlq"] == 0
