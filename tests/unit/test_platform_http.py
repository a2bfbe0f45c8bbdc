"""The base client every connector is: credentials on each call, a token renewed once when refused,
and the page shapes (by number with or without a total, by offset), over an httpx mock transport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.http import (
    BasicAuth,
    ClientCredentials,
    Disposition,
    PlatformHttp,
    Rule,
    StaticHeaders,
    each_row,
    status_between,
    status_in,
)
from shared.errors import AuthError

RULES = (
    Rule("ok", status_between(200, 299), Disposition.OK),
    Rule("refused", status_in(401, 403), Disposition.AUTH),
    Rule("other", lambda _r: True, Disposition.RETRY),
)
TOKEN_URL = "https://auth.example/oauth/token"


def client_over(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> PlatformHttp:
    return PlatformHttp(
        target="toy",
        base_url="https://api.example/v1",
        rules=RULES,
        retry=RetryConfig(max_attempts=1),
        clock=VirtualClock(),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        **kwargs,  # type: ignore[arg-type]
    )


def test_static_and_basic_credentials_ride_on_every_call_below_the_base_url() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    keyed = client_over(answer, auth=StaticHeaders({"x-api-key": "k"}))
    assert keyed.call_json("GET", "things", params={"a": 1}) == {"ok": True}
    assert str(seen[0].url) == "https://api.example/v1/things?a=1"
    assert seen[0].headers["x-api-key"] == "k" and seen[0].headers["Accept"] == "application/json"
    # HTTP Basic is written exactly as httpx writes auth=(user, password)
    client_over(answer, auth=BasicAuth("user", "pässword")).send("GET", "https://other.example/x")
    httpx.Client(transport=httpx.MockTransport(answer)).get("https://x", auth=("user", "pässword"))
    assert seen[1].headers["Authorization"] == seen[2].headers["Authorization"]


def token_platform(refuse: set[str]) -> tuple[Callable[[httpx.Request], httpx.Response], list[str]]:
    """Issues t1, t2, ... (life 100 s); refuses API calls carrying a token in `refuse` with 401."""
    log: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            assert request.headers["Authorization"].startswith("Basic ")
            token = f"t{sum(1 for line in log if line == 'token') + 1}"
            log.append("token")
            return httpx.Response(200, json={"access_token": token, "expires_in": 100})
        bearer = request.headers["Authorization"].removeprefix("Bearer ")
        log.append(bearer)
        return httpx.Response(401 if bearer in refuse else 200, json={})

    return answer, log


def oauth(**overrides: object) -> ClientCredentials:
    settings: dict[str, object] = {
        "token_url": TOKEN_URL,
        "client_id": "id",
        "client_secret": "secret",
        "scope": "read",
        "refresh_margin_seconds": 10,
    }
    return ClientCredentials(**{**settings, **overrides})  # type: ignore[arg-type]


def test_a_token_is_cached_until_its_margin_and_renewed_once_when_refused() -> None:
    answer, log = token_platform(refuse={"t2"})
    client = client_over(answer, auth=oauth())
    clock = client.clock
    assert isinstance(clock, VirtualClock)
    # Two calls, one token
    client.send("GET", "a")
    client.send("GET", "a")
    assert log == ["token", "t1", "t1"] and client.tokens_fetched == 1
    # Past its life less the margin (90 s) a new one is fetched; refused, it is renewed once and the call resent
    clock.advance(91)
    client.send("GET", "a")
    assert log[3:] == ["token", "t2", "token", "t3"] and client.tokens_fetched == 3


def test_a_token_refused_again_after_renewal_is_an_auth_error_and_403_is_not_renewed() -> None:
    answer, log = token_platform(refuse={"t1", "t2"})
    with pytest.raises(AuthError) as refused:
        client_over(answer, auth=oauth()).send("GET", "a")
    assert refused.value.status == 401 and log == ["token", "t1", "token", "t2"]

    def forbidden(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 100})
        return httpx.Response(403)

    client = client_over(forbidden, auth=oauth())
    with pytest.raises(AuthError):
        client.send("GET", "a")
    assert client.tokens_fetched == 1


def test_the_token_endpoint_may_have_its_own_table() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_scope"})

    # Under the API's table a 400 would be retried; the token table says the credentials are refused
    client = client_over(answer, auth=oauth(token_rules=(Rule("refused", lambda _r: True, Disposition.AUTH),)))
    with pytest.raises(AuthError):
        client.send("GET", "a")
    assert client.stats.calls == 0  # the token caller counts its own calls


def test_numbered_pages_end_at_the_total_or_a_short_page_and_stop_on_a_repeated_page() -> None:
    client = client_over(lambda _r: httpx.Response(200))
    asked: list[int] = []

    def with_total(page: int) -> tuple[list[int], int | None]:
        asked.append(page)
        return [page] * 2, 5  # 5 rows in pages of 2: three pages, however long the third is

    assert list(each_row(client.numbered_pages(with_total, limit=2))) == [1, 1, 2, 2, 3, 3]
    assert asked == [1, 2, 3]

    def short_end(page: int) -> tuple[list[int], int | None]:
        return ([10, 11] if page == 1 else [12]), None

    assert list(each_row(client.numbered_pages(short_end, limit=2))) == [10, 11, 12]

    def ignores_page(page: int) -> tuple[list[int], int | None]:
        asked.append(page)
        return [1, 2], None

    asked.clear()
    assert list(each_row(client.numbered_pages(ignores_page, limit=2, key=lambda row: row))) == [1, 2]
    assert asked == [1, 2]


def test_offset_pages_end_on_a_short_page() -> None:
    client = client_over(lambda _r: httpx.Response(200))
    offsets: list[int] = []

    def fetch(offset: int) -> list[int]:
        offsets.append(offset)
        return list(range(offset, min(offset + 3, 7)))

    assert list(each_row(client.offset_pages(fetch, limit=3))) == list(range(7))
    assert offsets == [0, 3, 6]
