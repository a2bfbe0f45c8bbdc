"""The shared outbound-call mechanism: token bucket pacing, throttle feedback, Retry-After parsing."""

from __future__ import annotations

from datetime import timedelta

import httpx

from shared.clock import VirtualClock
from shared.connectors.http import TokenBucket, retry_after_seconds


def test_token_bucket_paces_a_backlog_to_the_rate(clock: VirtualClock) -> None:
    # Given a 60-per-minute budget with a burst of 10
    bucket = TokenBucket(60, 60, clock, capacity=10)
    start = clock.now()
    # When 130 calls are made back to back
    for _ in range(130):
        bucket.acquire()
    # Then the burst goes at once and the rest at one per second: 120 s of virtual time
    elapsed = (clock.now() - start).total_seconds()
    assert 119.0 <= elapsed <= 121.0


def test_throttle_feedback_blocks_every_caller_for_the_penalty(clock: VirtualClock) -> None:
    bucket = TokenBucket(60, 60, clock, capacity=10)
    bucket.penalise(5)
    start = clock.now()
    bucket.acquire()
    assert (clock.now() - start).total_seconds() >= 5.0


def test_retry_after_as_seconds_or_http_date(clock: VirtualClock) -> None:
    request = httpx.Request("GET", "http://x/")
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"}, request=request), clock) == 7.0
    later = (clock.now() + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    parsed = retry_after_seconds(httpx.Response(503, headers={"Retry-After": later}, request=request), clock)
    assert parsed is not None
    assert 29.0 <= parsed <= 30.0
    assert retry_after_seconds(httpx.Response(503, request=request), clock) is None
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"}, request=request), clock) is None


def test_fractional_refill_rates_never_stall(clock: VirtualClock) -> None:
    # Given a rate whose per-call refill is not a whole number of microseconds (55 per minute)
    bucket = TokenBucket(55, 60, clock, capacity=5)
    start = clock.now()
    # When a backlog is drained
    for _ in range(500):
        bucket.acquire()
    # Then it finishes at the configured pace (the loop terminating is the point)
    minutes = (clock.now() - start).total_seconds() / 60
    assert 495 / 55 - 0.1 <= minutes <= 495 / 55 + 0.1
