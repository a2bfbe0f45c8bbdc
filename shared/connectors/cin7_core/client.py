"""Cin7 Core API v2 as an OrderSource (one GET per order, paged saleList for the changed-since poll)
and as a ShipmentTarget (fulfilment tasks: pick, pack, ship with tracking).

Cin7 allows 60 calls per minute per API application and answers 503 "60 calls per minute" beyond it
(some tenants see 429). It also reports errors inside HTTP 200 bodies as {"ErrorCode", "Exception"},
so the classification table looks at 2xx bodies before trusting the status line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx

from shared.clock import Clock
from shared.config import RetryConfig
from shared.connectors.cin7_core.mapping import (
    AUTHORISED,
    PACK,
    PICK,
    SHIP,
    SOURCE,
    VOIDED,
    FulfilmentTask,
    WireAvailabilityRow,
    added_task,
    box_label,
    format_cin7_datetime,
    new_task_id,
    note_with,
    pack_request,
    parse_availability_page,
    parse_fulfilments,
    parse_product_page,
    parse_sale_changes,
    parse_sale_list,
    pick_request,
    ship_request,
    stage_applied,
    stage_on_task,
    to_availability_row,
    to_order,
    to_product,
    to_stock_row,
)
from shared.connectors.http import (
    Disposition,
    PlatformHttp,
    RateBudget,
    Rule,
    StaticHeaders,
    each_row,
    status_between,
    status_in,
)
from shared.errors import NotFoundError, PermanentError, TransientError
from shared.models import Order, ReasonCode
from shared.models.feed import Rejected
from shared.models.product import Product
from shared.models.shipment import Shipment
from shared.models.stock import StockRow
from shared.ports import OrderChange, SourceChange
from shared.redaction import module_logger

logger = module_logger(__name__)

T = TypeVar("T")

MAX_PAGE_LIMIT = 1000  # Cin7: limit 1-1000, default 100
# Paging parameters exactly as the card writes them (`page`, `limit`).
PAGE, LIMIT = "page", "limit"
NOTE_MAX = 1024  # Sale Note: String(1024) in the reference's Sale POST/PUT attributes
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
    Rule("timeout or server error", lambda r: r.status_code == 408 or 500 <= r.status_code <= 599, Disposition.RETRY),
    Rule("request refused", status_between(400, 499), Disposition.PERMANENT, ReasonCode.SOURCE_REJECTED),
    Rule("unexpected status", lambda _r: True, Disposition.PERMANENT, ReasonCode.SOURCE_REJECTED),
)


class Cin7CoreClient(PlatformHttp):
    """Reads sales from, and writes fulfilments to, one Cin7 Core account through one API application key."""

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
        availability_page_limit: int | None = None,
    ):
        if not 1 <= page_limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"page_limit must be 1-{MAX_PAGE_LIMIT}, got {page_limit}")
        # Availability rows are small and stock reads the busiest list: its own page size, page_limit by default.
        self.availability_page_limit = availability_page_limit or page_limit
        if not 1 <= self.availability_page_limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"availability_page_limit must be 1-{MAX_PAGE_LIMIT}, got {availability_page_limit}")
        self._listed_rows: dict[str | None, int] = {}  # availability Total per Location filter, from the last listing
        self._listing: _Listing | None = None  # the last listing read for a SKU read, to answer later ones
        super().__init__(
            target=SOURCE,
            base_url=base_url,
            rules=RULES,
            retry=retry,
            auth=StaticHeaders({"api-auth-accountid": account_id, "api-auth-applicationkey": application_key}),
            clock=clock,
            budget=budget,
            http=http,
            timeout=timeout,
            min_throttle_wait=THROTTLE_WAIT_SECONDS,
        )
        self.page_limit = page_limit

    def _get(self, endpoint: str, params: dict[str, Any]) -> Any:
        return self.call_json("GET", endpoint, params=params)

    def _post(self, endpoint: str, body: dict[str, Any], *, idempotent: bool = True) -> Any:
        return self.call_json("POST", endpoint, idempotent=idempotent, json=body, allow_empty=True)

    def _pages(
        self, endpoint: str, params: dict[str, Any], parse: Callable[[Any], tuple[int, Sequence[T]]]
    ) -> Iterator[T]:
        """A page=&limit= listing, pages = ceil(Total / limit); an empty page ends it early."""

        def fetch(page: int) -> tuple[Sequence[T], int]:
            total, rows = parse(self._get(endpoint, {**params, PAGE: page}))
            return rows, total

        return each_row(self.numbered_pages(fetch, limit=self.page_limit))

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
        yield from self._sales_changed_since(since, {"OrderStatus": AUTHORISED})

    def cancelled_since(self, since: datetime) -> Iterator[OrderChange]:
        """Sales voided (Status VOIDED) and updated after `since`, oldest first: the poll's net for
        missed Sale/Voided webhooks. Same paging as orders_changed_since."""
        yield from self._sales_changed_since(since, {"Status": VOIDED})

    def changes_since(self, since: datetime) -> Iterator[SourceChange]:
        """Every sale updated after `since`, each with what it means for the polls (CombinedChangeFeed): one
        unfiltered GET saleList?UpdatedSince= serves the order poll and the void poll, where the filtered
        listings cost a call each. Same paging and once-per-run as orders_changed_since."""
        params: dict[str, Any] = {"UpdatedSince": format_cin7_datetime(since), LIMIT: self.page_limit}
        seen: set[str] = set()
        for row in self._pages("saleList", params, parse_sale_changes):
            if row.change.source_id not in seen:
                seen.add(row.change.source_id)
                yield row

    def _sales_changed_since(self, since: datetime, status_filter: dict[str, str]) -> Iterator[OrderChange]:
        params: dict[str, Any] = {
            "UpdatedSince": format_cin7_datetime(since),
            **status_filter,
            LIMIT: self.page_limit,
        }
        seen: set[str] = set()
        for change in self._pages("saleList", params, parse_sale_list):
            if change.source_id not in seen:
                seen.add(change.source_id)
                yield change

    def add_note(self, source_id: str, line: str) -> bool:
        """Append one line to the sale's Note, once: GET sale?ID=, then PUT sale.

        PUT sale is not on the card; Cin7's own reference (API Blueprint, Sale [/sale] PUT, and the Sale
        POST/PUT attributes table) documents it, with ID required for PUT and Customer (or CustomerID)
        and Location marked required, so the header's own values are sent back with the new Note.
        Whether a VOIDED sale accepts the edit is not documented [I]: a refusal is raised, and the
        caller treats the note as a courtesy. Returns False when the note already carries the line (a
        retry after a lost response), so the write is idempotent. A note that would outgrow the
        reference's 1024 characters is refused here, without a call.
        """
        sale = self.get_sale(source_id)
        note = note_with(str(sale.get("Note") or ""), line)
        if note is None:
            return False
        if len(note) > NOTE_MAX:
            raise PermanentError(
                ReasonCode.SOURCE_REJECTED,
                f"Cin7 sale {source_id}: the note would be {len(note)} characters; Cin7 keeps "
                f"{NOTE_MAX}, so the line was not written: {line}",
            )
        body: dict[str, Any] = {"ID": _sale_id(source_id), "Note": note}
        for field in ("CustomerID", "Customer", "Location"):
            value = sale.get(field)
            if isinstance(value, str) and value.strip():
                body[field] = value
        self.send("PUT", "sale", json=body)
        return True

    # -- ShipmentTarget ------------------------------------------------------------------------
    def write_shipment(
        self,
        source_id: str,
        shipment: Shipment,
        *,
        location: str,
        progress: Mapping[str, str],
        remember: Callable[[str], None],
        known: Sequence[str] = (),
    ) -> None:
        """Write one parcel back: resume or perform pick -> pack -> ship on its own fulfilment task.

        `progress` holds the token (task id) each parcel of this sale already claimed; `remember(task_id)`
        records this parcel's before the first write to it, so a retry after a failure at any stage resumes
        the same task: Cin7 refuses a second pick of units already picked. The box label on the task also
        identifies it, for a ship that landed when the record of it did not.

        A parcel's first attempt costs three calls, no read: its task is one `known` from the sale read at
        intake that no other parcel holds, or (a later parcel) one POST sale/fulfilment adds. Should Cin7
        refuse that pick or that new task (the task was picked by hand, an earlier add landed unseen), the
        sale's tasks are read and the parcel goes where they say, as a retry's does.
        """
        if shipment.parcel_id not in progress:
            # The first attempt's calls are known (a new task, when it needs one, then pick, pack and ship):
            # the shared budget takes their turns in one go.
            with self.caller.sequence(_first_attempt_calls(progress, known)):
                task_id = self._task_without_reading(source_id, progress, known)
                if task_id is not None:
                    remember(task_id)
                    try:
                        self.authorise_pick(source_id, task_id, shipment, location)
                    except NotFoundError:
                        raise
                    except PermanentError as refused:
                        # Not as the intake read showed it (picked by hand, sale voided): the read below decides.
                        logger.info("cin7 task %s refused the pick (%s): reading the tasks", task_id, refused.detail)
                    else:
                        self.authorise_pack(source_id, task_id, shipment, location)
                        self.authorise_ship(source_id, task_id, shipment)
                        return
        self._write_from_tasks(source_id, shipment, location=location, progress=progress, remember=remember)

    def _task_without_reading(self, source_id: str, progress: Mapping[str, str], known: Sequence[str]) -> str | None:
        """The task a parcel's first attempt writes to with no read: a known task no parcel holds, else (another
        parcel holds one) a new task; None when nothing is known, and after a refused add (the read decides)."""
        free = _free_task(progress, known)
        if free is not None:
            return free
        if not progress:
            return None
        try:
            return self.add_fulfilment(source_id)
        except NotFoundError:
            raise
        except PermanentError as refused:
            logger.info("cin7 sale %s refused a new task (%s): reading the tasks", source_id, refused.detail)
            return None

    def _write_from_tasks(
        self,
        source_id: str,
        shipment: Shipment,
        *,
        location: str,
        progress: Mapping[str, str],
        remember: Callable[[str], None],
    ) -> None:
        """The sale's tasks read (one call), then the parcel's task resumed or chosen, and its stages written."""
        tasks: dict[str, FulfilmentTask] = {t.task_id: t for t in self.fulfilments(source_id)}
        label = box_label(shipment.parcel_id)
        task = tasks.get(progress.get(shipment.parcel_id, "")) or next(
            (t for t in tasks.values() if label in t.boxes), None
        )
        if task is not None and task.ship_status == AUTHORISED:
            return  # written by an earlier attempt whose record did not happen
        if task is None:
            taken = set(progress.values())
            task = next(
                (t for t in tasks.values() if t.pick_status != AUTHORISED and not t.boxes and t.task_id not in taken),
                None,
            )
            if task is None:
                task = FulfilmentTask(task_id=self.add_fulfilment(source_id))
            remember(task.task_id)
        if task.pick_status != AUTHORISED:
            self.authorise_pick(source_id, task.task_id, shipment, location)
        if task.pack_status != AUTHORISED:
            self.authorise_pack(source_id, task.task_id, shipment, location)
        self.authorise_ship(source_id, task.task_id, shipment)

    def fulfilments(self, source_id: str) -> list[FulfilmentTask]:
        """One call: GET sale/fulfilment?SaleID=, the sale's tasks in FulfillmentNumber order.

        Each task reports its stage statuses, its box labels (pack and ship lines), its picked
        quantities per SKU and its shipped ones (packed quantities of boxes a ship line marks shipped).
        """
        sale_id = _sale_id(source_id)
        return parse_fulfilments(self._get("sale/fulfilment", {"SaleID": sale_id}), sale_id)

    def add_fulfilment(self, source_id: str) -> str:
        """POST sale/fulfilment {SaleID}; returns the new TaskID.

        The card does not say what the POST answers: the sale's fulfilment list and the new task object
        are both read (mapping.new_task_id); any other answer costs one more call, GET sale/fulfilment,
        to find the task that was added. Not idempotent, so never re-sent in-process after an ambiguous
        failure. Cin7 only adds a task when every existing task's pick is AUTHORISED, and a new task's
        pick is DRAFT, so a blind re-send is refused rather than doubled; after a lost response the
        caller should read `fulfilments()` and reuse the task whose pick is not authorised and which
        holds no box. A refusal (another task not yet picked, order not authorised) is
        PermanentError(SOURCE_REJECTED).
        """
        sale_id = _sale_id(source_id)
        answer = self._post("sale/fulfilment", {"SaleID": sale_id}, idempotent=False)
        task_id = new_task_id(answer, sale_id)
        if task_id is not None:
            return task_id
        # Cin7 adds a task only when every other task's pick is AUTHORISED: the one DRAFT pick is the new task.
        found = added_task(self.fulfilments(sale_id))
        if found is None:
            # The task may well exist: let the caller's next attempt find it instead of quarantining.
            raise TransientError(
                f"Cin7 POST sale/fulfilment for sale {sale_id}: the answer names no task and "
                "the sale's tasks show no new one"
            )
        logger.info("cin7 sale %s: new fulfilment task %s found by reading the tasks back", sale_id, found)
        return found

    def authorise_pick(self, source_id: str, task_id: str, shipment: Shipment, location: str) -> None:
        """POST sale/fulfilment/pick, Status AUTHORISED, the parcel's lines (one per SKU) from `location`."""
        self._authorise(source_id, PICK, pick_request(_task_id(task_id), shipment, location))

    def authorise_pack(self, source_id: str, task_id: str, shipment: Shipment, location: str) -> None:
        """POST sale/fulfilment/pack, Status AUTHORISED, the parcel's lines in box `box_label(parcel_id)`."""
        self._authorise(source_id, PACK, pack_request(_task_id(task_id), shipment, location))

    def authorise_ship(self, source_id: str, task_id: str, shipment: Shipment) -> None:
        """POST sale/fulfilment/ship, Status AUTHORISED: one shipped line per tracking number on the parcel's box."""
        self._authorise(source_id, SHIP, ship_request(_task_id(task_id), shipment))

    def _authorise(self, source_id: str, stage: str, body: dict[str, Any]) -> None:
        """POST one stage; safe to re-send.

        Cin7 refuses a POST to a stage that is already AUTHORISED (pick, pack) or (partially)
        authorised (ship), with an error list (in a 400, or in a 200). So when a first attempt landed
        but its response was lost, the in-process re-send, or the caller's next delivery, comes back
        refused: on a refusal the sale's tasks are read back with the card's GET sale/fulfilment?SaleID=
        (one extra call) and, if the task's stage already holds exactly what was sent (for ship: our
        box shipped with our tracking numbers), the write counts as done in this same delivery. Any
        other refusal is raised as it came.
        """
        sale_id = _sale_id(source_id)
        endpoint = f"sale/fulfilment/{stage}"
        try:
            self._post(endpoint, body)
        except NotFoundError:
            raise
        except PermanentError as refused:
            try:
                tasks = self._get("sale/fulfilment", {"SaleID": sale_id})
            except NotFoundError:
                raise refused from None  # no such sale: the refusal says why
            if not stage_applied(stage, stage_on_task(tasks, sale_id, body["TaskID"], stage), body):
                raise
            logger.info("cin7 %s of task %s was already authorised as sent (%s)", stage, body["TaskID"], refused.detail)

    def products_changed_since(self, since: datetime) -> Iterator[Product | Rejected]:
        """Products modified after `since`, oldest first: GET product?ModifiedSince=&IncludeDeprecated=true
        &page=&limit=, one call per page, pages = ceil(Total / limit).

        IncludeDeprecated is sent because Cin7 leaves deprecated products out by default, and a
        deprecation is a change the warehouse must hear about (it comes through as active=False).
        Each product is yielded once per run (a product edited while we page can move between pages).
        A row that cannot be mapped is yielded as `Rejected` for the caller to quarantine, so one bad
        product never holds back the rest of the catalogue.
        """
        params: dict[str, Any] = {
            "ModifiedSince": format_cin7_datetime(since),
            "IncludeDeprecated": "true",
            LIMIT: self.page_limit,
        }
        seen: set[str] = set()
        for row in self._pages("product", params, parse_product_page):
            try:
                product = to_product(row)
            except PermanentError as error:
                logger.warning("cin7 product row skipped: %s", error.detail)
                key = str(row.get("ID", "")) if isinstance(row, dict) else ""
                yield Rejected(row=row, detail=error.detail, key=key)
                continue
            if product.source_id not in seen:
                seen.add(product.source_id)
                yield product

    # -- StockSource -----------------------------------------------------------------------------
    def stock_levels(
        self, skus: list[str] | None = None, location: str | None = None, *, fresh_after: datetime | None = None
    ) -> Iterator[StockRow | Rejected]:
        """Cin7's own figures per SKU and location (Available, OnHand, Allocated), bins and batches summed;
        each row carries `read_at`, when its read began.

        Without `skus`: every row, GET ref/productavailability?limit=&page= (and Location= when given),
        pages = ceil(Total / limit), at the card's largest page (1,000 rows) unless configured smaller. A
        SKU x location is yielded once its rows are complete, i.e. when the next key starts, so its bin rows
        may straddle a page boundary. This relies on Cin7 listing one product's rows at one location
        together [I]; should a key come back later in the same read, that second group is not used (its
        first figure may have been partial) and is yielded as `Rejected` instead. A row repeated across a
        page boundary (the list shifted while we paged) is counted once.

        With `skus`, whichever costs fewer calls: the list's pages (its Total, learnt from the last listing,
        says how many; unknown, the first page is read and tells), keeping only these SKUs, or one paged
        GET ...?Sku=<sku> per distinct SKU (once the list has more pages than there are SKUs). Cin7 matches
        Sku partially, so only rows whose SKU is exactly the one asked for (case-sensitive) count. A SKU Cin7
        holds no stock row for yields nothing (the caller decides what absence means).

        `fresh_after`: rows read after that moment will do. The last listing begun since then (same
        `location`) answers with no call, so every stock event that came before one read is served by it.

        `location` is matched exactly (case-insensitive) on the rows as well as sent as a filter,
        since the API's own Location match is not documented. Which locations the warehouse holds
        (e.g. not 'Retail Store') is the caller's choice. A row that cannot be read is logged and
        yielded as `Rejected`.
        """
        params: dict[str, Any] = {LIMIT: self.availability_page_limit}
        wanted = None
        if location and location.strip():
            params["Location"] = location.strip()
            wanted = location.strip().casefold()
        if skus is None:
            yield from self._stock_groups(params, wanted)
            return
        asked = [sku for sku in dict.fromkeys(skus) if sku and sku.strip()]  # an empty Sku would list every row
        listing = self._listing
        fresh = listing is not None and fresh_after is not None and listing.read_at > fresh_after
        if listing is not None and fresh and listing.location == wanted:
            yield from listing.answer(asked)
            return
        rows = self._listed_rows.get(wanted)
        if asked and (rows is None or math.ceil(rows / self.availability_page_limit) <= len(asked)):
            read_at = self.clock.now()
            total, first = self._availability_page(params, 1)
            if math.ceil(total / self.availability_page_limit) <= len(asked):
                listing = _Listing(wanted, read_at)
                for grouped in self._stock_groups(params, wanted, first=(total, first), read_at=read_at):
                    listing.add(grouped)
                self._listing = listing
                yield from listing.answer(asked)
                return
        for sku in asked:
            read_at = self.clock.now()
            groups: dict[str, dict[tuple[str, ...], WireAvailabilityRow]] = {}
            for part in self._availability_rows({**params, "Sku": sku}, wanted):
                if isinstance(part, Rejected):
                    yield part
                elif sku == part.SKU:
                    groups.setdefault(part.Location, {})[part.identity] = part
            for parts in groups.values():
                yield to_stock_row(list(parts.values())).model_copy(update={"read_at": read_at})

    def _stock_groups(
        self,
        params: dict[str, Any],
        wanted: str | None,
        *,
        first: tuple[int, list[Any]] | None = None,
        read_at: datetime | None = None,
    ) -> Iterator[StockRow | Rejected]:
        """Every row in listing order, grouped per SKU x location as the groups complete."""
        read_at = read_at or self.clock.now()
        done: set[int] = set()  # hashes of keys already yielded: small enough for 100,000s of keys
        key: tuple[str, str] | None = None
        group: dict[tuple[str, ...], WireAvailabilityRow] = {}

        def finish() -> Iterator[StockRow | Rejected]:
            if key is None or not group:
                return
            if hash(key) in done:
                detail = (
                    f"Cin7 listed SKU {key[0]!r} at {key[1]!r} in two places in one read; "
                    "its figure may be partial and was not used twice"
                )
                logger.warning(detail)
                yield Rejected(
                    row=[part.model_dump() for part in group.values()], detail=detail, key=f"{key[0]}@{key[1]}"
                )
                return
            done.add(hash(key))
            yield to_stock_row(list(group.values())).model_copy(update={"read_at": read_at})

        for part in self._availability_rows(params, wanted, first=first):
            if isinstance(part, Rejected):
                yield part
                continue
            if (part.SKU, part.Location) != key:
                yield from finish()
                key, group = (part.SKU, part.Location), {}
            group[part.identity] = part
        yield from finish()

    def _availability_page(self, params: dict[str, Any], page: int) -> tuple[int, list[Any]]:
        """One page of GET ref/productavailability; a listing's Total (no Sku filter) is kept for the next choice."""
        total, rows = parse_availability_page(self._get("ref/productavailability", {**params, PAGE: page}))
        if "Sku" not in params:
            location = str(params.get("Location") or "").casefold() or None
            self._listed_rows[location] = total
        return total, rows

    def _availability_rows(
        self, params: dict[str, Any], wanted: str | None, *, first: tuple[int, list[Any]] | None = None
    ) -> Iterator[WireAvailabilityRow | Rejected]:
        page, pages = 1, 1
        while page <= pages:
            total, rows = first if page == 1 and first is not None else self._availability_page(params, page)
            pages = math.ceil(total / params[LIMIT])
            for row in rows:
                try:
                    part = to_availability_row(row)
                except PermanentError as error:
                    logger.warning("cin7 availability row skipped: %s", error.detail)
                    yield Rejected(row=row, detail=error.detail)
                    continue
                if wanted is None or part.Location.strip().casefold() == wanted:
                    yield part
            if not rows:
                break
            page += 1


class _Listing:
    """The rows of one availability listing by SKU (unreadable rows by the SKU they name), and when it began."""

    def __init__(self, location: str | None, read_at: datetime):
        self.location = location
        self.read_at = read_at
        self.rows: dict[str, list[StockRow | Rejected]] = {}

    def add(self, part: StockRow | Rejected) -> None:
        if isinstance(part, StockRow):
            sku = part.sku
        elif isinstance(part.row, dict):
            sku = str(part.row.get("SKU") or "")
        else:
            sku = part.key.rsplit("@", 1)[0]
        self.rows.setdefault(sku, []).append(part)

    def answer(self, skus: list[str]) -> Iterator[StockRow | Rejected]:
        for sku in skus:
            yield from self.rows.get(sku, [])


def _free_task(progress: Mapping[str, str], known: Sequence[str]) -> str | None:
    """A task the sale read at intake named that no parcel of the sale holds yet."""
    taken = set(progress.values())
    return next((task for task in known if task and task not in taken), None)


def _first_attempt_calls(progress: Mapping[str, str], known: Sequence[str]) -> int:
    """Calls a parcel's first attempt makes when Cin7 takes them: pick, pack and ship on a free known task, a
    new task first when other parcels hold the known ones; none without a read when nothing is known."""
    if _free_task(progress, known) is not None:
        return 3
    return 4 if progress else 0


def _sale_id(source_id: str) -> str:
    if not source_id or not source_id.strip():
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 sale id is blank")
    return source_id.strip()


def _task_id(task_id: str) -> str:
    if not task_id or not task_id.strip():
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 fulfilment task id is blank")
    return task_id.strip()
