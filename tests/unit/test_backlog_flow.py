"""The backlog figures: ages from release times, a queue with nothing in it has no age, a budget's waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.flows.backlog import budget_state, orders_backlog, queue_backlog

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_the_oldest_release_sets_the_age_and_the_alarm_is_strictly_above_its_threshold() -> None:
    released = [NOW - timedelta(seconds=600), NOW - timedelta(seconds=30)]
    at_threshold = orders_backlog(released, NOW, alarm_seconds=600)
    assert (at_threshold.waiting, at_threshold.oldest_seconds, at_threshold.over_alarm) == (2, 600.0, False)
    assert orders_backlog(released, NOW, alarm_seconds=599).over_alarm
    nothing = orders_backlog([], NOW, alarm_seconds=600)
    assert (nothing.waiting, nothing.oldest_seconds, nothing.over_alarm) == (0, None, False)


def test_an_emptied_queue_reports_no_age_even_when_the_metric_still_carries_one() -> None:
    empty = {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    assert queue_backlog("stock", "stock-sync", empty, 900.0, 600).oldest_seconds is None
    held = {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "2"}
    row = queue_backlog("orders", "order-submit", held, 900.0, 600)
    assert (row.waiting, row.in_flight, row.oldest_seconds, row.over_alarm) == (0, 2, 900.0, True)


def test_a_budget_past_its_waits_is_not_limiting() -> None:
    item = {"pk": "cin7_core:x", "tokens": 1, "orders_waiting_until": NOW.timestamp() + 3, "blocked_until": 0}
    state = budget_state(item, NOW)
    assert (state.orders_waiting_seconds, state.blocked_seconds) == (3.0, 0.0)
    later = budget_state(item, NOW + timedelta(seconds=10))
    assert later.orders_waiting_seconds == 0.0
