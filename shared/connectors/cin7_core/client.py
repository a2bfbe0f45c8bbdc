"""Cin7 Core API v2 as an OrderSource: one GET per order, paged saleList for the changed-since poll.

Cin7 allows 60 calls per minute per API application and answers 503 "60 calls per minute" beyond it
(some tenants see 429). It also reports errors inside HTTP 200 bodies as {"ErrorCode", "Exception"},
so the classification table looks at 2xx bodies before trusting the status line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx

from shared.clock import Clock
from shared.config import RetryConfig
from shared.connectors.cin7_core.mapping import AUTHORISED, SOURCE, format_cin7_datetime, parse_sale_list, to_order
from shared.connectors.http import (
    CallStats,
    Disposition,
    HttpCaller,
    RateBudget,
    Rule,
    json_body,
    status_between,
    status_in,
)
from shared.errors import PermanentError
from shared.models import Order, ReasonCode
from shared.ports import OrderChange

MAX_PAGE_LIMIT = 1000  # Cin7: limit 1-1000, default 100
THROTTLE_WAIT_SECONDS = 5.0  # Cin7: wait at least 5 s after a throttled call before resuming


def body_error_code(response: httpx.Response) -> int | None:
    """ErrorCode from a Cin7 error body ({...} or [{...}]); None when the body is not an error or not JSON."""
    content = response.content
    if b"ErrorCode" not in content:  # cheap pre-check; most bodies are not errors
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    candidates = body if isinstance(body, list) else [body]
    for item in candidates:
        if isinstance(item, dict) and "ErrorCode" in item:
            try:
                return int(item["ErrorCode"])
            except (TypeError, ValueError):
                return 0  # an error we cannot read is still an error
    return None


def _ok_status_with_error(*codes: int) -> Callable[[httpx.Response], bool]:
    def matches(response: httpx.Response) -> bool:
        if not 200 <= response.status_code <= 299:
            return False
        code = body_error_code(response)
        return code is not None and (not codes or code in codes)

    return matches


RULES: tuple[Rule, ...] = (
    Rule("60 calls per minute (error in a 2xx body)", _ok_status_with_error(503, 429), Disposition.RATE_LIMITED),
    Rule("not found (error in a 2xx body)", _ok_status_with_error(404), Disposition.NOT_FOUND),
    Rule("credentials refused (error in a 2xx body)", _ok_status_with_error(403), Disposition.AUTH),
    Rule(
        "request refused (error in a 2xx body)",
        _ok_status_with_error(),
        Disposition.PERMANENT,
        ReasonCode.SOURCE_REJECTED,
    ),
    Rule("ok", status_between(200, 299), Disposition.OK),
    Rule("60 calls per minute", status_in(503, 429), Disposition.RATE_LIMITED),
    Rule("credentials refused", status_in(401, 403), Disposition.AUTH),
    Rule("not found", status_in(404), Disposition.NOT_FOUND),
    Rule("timeout or server error", lambda r: r.status_code == 408 or 500 <= r.status_code <= 599,
         Disposition.RETRY),
    Rule("request refused", status_between(400, 499), Disposition.PERMANENT, ReasonCode.SOURCE_REJECTED),
    Rule("unexpected status", lambda _r: True, Disposition.PERMANENT, ReasonCode.SOURCE_REJECTED),
)


class Cin7CoreClient:
    """Reads sales from one Cin7 Core account through a single API application key."""

    name = SOURCE

    def __init__(
        self,
        base_url: str,
        account_id: str,
        application_key: str,
        *,
        retry: RetryConfig,
        clock: Clock | None = None,
        budget: RateBudget | None = None,
        http: httpx.Client | None = None,
        timeout: float | None = None,
        page_limit: int = 100,
    ):
        if not 1 <= page_limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"page_limit must be 1-{MAX_PAGE_LIMIT}, got {page_limit}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.page_limit = page_limit
        self._headers = {
            "api-auth-accountid": account_id,
            "api-auth-applicationkey": application_key,
            "Accept": "application/json",
        }
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout if timeout is not None else retry.timeout_seconds)
        self._timeout = timeout
        self._caller = HttpCaller(
            client=self._http,
            rules=RULES,
            retry=retry,
            clock=clock,
            budget=budget,
            min_throttle_wait=THROTTLE_WAIT_SECONDS,
            target=SOURCE,
        )

    @property
    def stats(self) -> CallStats:
        return self._caller.stats

    def _get(self, endpoint: str, params: dict[str, Any]) -> Any:
        extra: dict[str, Any] = {} if self._timeout is None else {"timeout": self._timeout}
        response = self._caller.request(
            "GET", self.base_url + endpoint, params=params, headers=self._headers, **extra
        )
        return json_body(response)

    def me(self) -> dict[str, Any]:
        """GET me: the cheapest call that proves the credentials work."""
        body = self._get("me", {})
        if not isinstance(body, dict):
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 me: expected a JSON object")
        return body

    def get_sale(self, sale_id: str) -> dict[str, Any]:
        """GET sale?ID= as raw JSON, for archiving before mapping."""
        if not sale_id or not sale_id.strip():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 sale id is blank")
        body = self._get("sale", {"ID": sale_id.strip()})
        if not isinstance(body, dict):
            raise PermanentError(
                ReasonCode.PAYLOAD_INVALID, f"Cin7 sale {sale_id}: expected a JSON object, got {type(body).__name__}"
            )
        returned = body.get("ID")
        if isinstance(returned, str) and returned.strip().lower() != sale_id.strip().lower():
            raise PermanentError(
                ReasonCode.PAYLOAD_INVALID, f"Cin7 sale {sale_id}: the response is for sale {returned}"
            )
        return body

    def fetch_order(self, source_id: str) -> Order:
        """One call: GET sale?ID=, mapped to the canonical Order."""
        return to_order(self.get_sale(source_id))

    def read_order(self, source_id: str) -> tuple[Order, dict[str, Any]]:
        """One call: the canonical Order and the raw sale it came from (which the caller archives)."""
        sale = self.get_sale(source_id)
        return to_order(sale), sale

    def orders_changed_since(self, since: datetime) -> Iterator[OrderChange]:
        """Authorised sales updated after `since`, oldest first; pages = ceil(Total / limit).

        Cin7 has no cursor, so a sale updated while we page can shift rows between pages: callers
        overlap their window, and each sale is yielded once per run here.
        """
        params: dict[str, Any] = {
            "UpdatedSince": format_cin7_datetime(since),
            "OrderStatus": AUTHORISED,
            "Limit": self.page_limit,
        }
        seen: set[str] = set()
        page, pages = 1, 1
        while page <= pages:
            total, changes = parse_sale_list(self._get("saleList", {**params, "Page": page}))
            pages = math.ceil(total / self.page_limit)
            for change in changes:
                if change.source_id not in seen:
                    seen.add(change.source_id)
                    yield change
            if not changes:
                break
            page += 1

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Cin7CoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
