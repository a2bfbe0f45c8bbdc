"""A realistic local day for one client: sales, webhooks (some duplicated, some missed), polls, faults.

Each generated sale carries the outcome it should have (at the warehouse, held, skipped, quarantined with
a specific reason, or cancelled), and the summary judges it from what the platforms hold at the end, not
from our own ledger: an order is right only when the warehouse holds it with the source's lines,
quantities, address and service; lost is every sale expected at the warehouse that is not there;
duplicates are counted at a warehouse that accepts a repeated reference (unless the day says it
refuses them), so our guards are what prevents them; shipments are judged at Cin7 Core (tracking
numbers on the sale's fulfilments), stock at Scend (the figures it received), cancellations at Scend
(the order's status). Only what the platforms cannot show (a hold, a quarantine reason) is read from
the ledger and the exception inbox.
"""

from __future__ import annotations

import gc
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

from shared.clock import VirtualClock
from shared.config import ClientConfig, config_for_client
from shared.connectors.cin7_core.settings import Cin7CoreSettings
from shared.connectors.scend.settings import ScendSettings
from shared.connectors.spec import Role
from shared.errors import ConfigError
from shared.models import ReasonCode

KINDS: dict[str, tuple[float, str]] = {
    # kind: (share of sales, expected outcome: "warehouse", "held", "skipped" or a reason code)
    "valid": (0.78, "warehouse"),
    "unknown_sku": (0.03, "held"),  # a SKU neither system has: held for it, flagged if it never comes
    "new_product": (0.025, "warehouse"),  # created at Cin7 moments before its first order: held, then released
    "new_product_invalid": (0.005, "held"),  # created with a bad barcode: the product is rejected, the order waits
    "invalid_sku": (0.01, ReasonCode.SKU_INVALID.value),
    "bad_postcode": (0.03, ReasonCode.POSTCODE_INVALID.value),
    "unmapped_service": (0.02, ReasonCode.DELIVERY_SERVICE_UNMAPPED.value),
    "incomplete_address": (0.02, ReasonCode.ADDRESS_INCOMPLETE.value),
    "unsupported_country": (0.02, ReasonCode.COUNTRY_UNSUPPORTED.value),
    "excluded_location": (0.03, "skipped"),
    "backordered": (0.03, "held"),
}

STYLES = ("TEE", "HOODIE", "CAP", "SOCK", "JOGGER")
COLOURS = ("BLK", "WHT", "NVY", "GRN")
SIZES = ("S", "M", "L", "XL")
ADDRESSES = (
    {"Line1": "1 High Street", "City": "Leeds", "Postcode": "LS1 1AA", "Country": "United Kingdom"},
    {"Line1": "22 Mill Lane", "City": "Bristol", "Postcode": "BS1 4DJ", "Country": "United Kingdom"},
    {"Line1": "5 Quay Road", "City": "Glasgow", "Postcode": "G2 1QX", "Country": "United Kingdom"},
    {"Line1": "14 Harcourt St", "City": "Dublin", "Postcode": "D02 X285", "Country": "Ireland"},
)
GOOD_SERVICES = ("Royal Mail Tracked 48", "Royal Mail Tracked 24", "DPD Next Day")


@dataclass
class Options:
    client: str = "example-cin7-scend"
    orders: int = 200
    fault_rate: float = 0.0
    duplicate_rate: float = 0.0
    missed_webhook_rate: float = 0.03
    seed: int = 1
    warehouse_rejects_duplicates: bool = False  # the card does not say Scend refuses a repeated OrderNumber
    split_rate: float = 0.15  # orders the warehouse ships in two parcels, the second a day later
    multi_tracking_rate: float = 0.1  # parcels carrying two tracking numbers
    late_parcel_hours: float = 3.0  # how long after the first parcel the second of a split order ships
    stock_event_rate: float = 0.5  # sales after which Cin7 posts a stock-level webhook (the rest: the schedule)
    stock_incident_every: int = 20  # sales between stock incidents (receipts, spikes, damage, shop sales)
    follow_up_hours: float = 4.0  # after the last order: long enough for late parcels to come back
    day_hours: float = 4.0  # the trading day the orders are spread over
    cancel_rate: float = 0.08  # valid sales voided at Cin7 Core, at one of the CANCEL_KINDS moments


# When a voided sale is voided (share of cancels): before it is submitted, while its submit is in flight
# (the void lands between the create reaching the warehouse and its outcome being recorded), after
# hand-off before picking starts, and after it was picked.
CANCEL_KINDS: dict[str, float] = {"before_submit": 0.3, "during_submit": 0.2, "before_pick": 0.3, "after_pick": 0.2}
# Minutes after the warehouse created the order at which each late kind is voided (simulator timetable:
# awaiting picking at 15, picking 30, picked 45, packed 60, despatched 120).
CANCEL_DELAY_MINUTES: dict[str, tuple[float, float]] = {"before_pick": (2.0, 10.0), "after_pick": (50.0, 100.0)}


def day_shape(hours: float, day_hours: float | None = None, follow_up_hours: float | None = None) -> dict[str, float]:
    """A day of `hours` simulated hours: orders over the first half (at most a 10-hour trading day), the
    rest for parcels, write-backs and retries to come back; a split order's second parcel ships at 80 %
    of that rest (at most 26 hours, Scend's usual). `day_hours` / `follow_up_hours` override either part."""
    day = min(10.0, hours / 2) if day_hours is None else day_hours
    follow_up = hours - min(10.0, hours / 2) if follow_up_hours is None else follow_up_hours
    return {"day_hours": day, "follow_up_hours": follow_up, "late_parcel_hours": min(26.0, follow_up * 0.8)}


@dataclass
class PlannedSale:
    sale_id: str
    order_number: str
    kind: str
    expected: str
    created_at: Any = None
    cancel: str | None = None  # a CANCEL_KINDS key when the sale is voided


@dataclass
class DayResult:
    summary: dict[str, Any]
    wall_seconds: float
    details: dict[str, Any] = field(default_factory=dict)


def poll_interval_seconds(expression: str) -> float:
    rate = re.match(r"rate\((\d+) (minute|hour|day)s?\)", expression)
    if not rate:
        return 600.0
    return int(rate.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[rate.group(2)]


def _sale_spec(kind: str, rng: random.Random, skus: list[str], index: int) -> dict[str, Any]:
    lines = [
        (rng.choice(skus), rng.randint(1, 3), Decimal(rng.choice(("12.50", "19.99", "24.00", "8.95"))))
        for _ in range(rng.randint(1, 3))
    ]
    address = dict(rng.choice(ADDRESSES[:3]))
    address["Contact"] = rng.choice(("Jo Smith", "Sam Patel", "Alex Murphy", "Priya Shah"))
    spec: dict[str, Any] = {
        "lines": lines,
        "address": address,
        "carrier": rng.choice(GOOD_SERVICES),
        "location": "Scend UK",
        "status": "ORDERED",
        "order_status": "AUTHORISED",
        "email": f"customer{index}@example.com",
    }
    if kind == "unknown_sku":
        spec["lines"] = [*lines, (f"NEW-DROP-{index}", 1, Decimal("30.00"))]
    elif kind in ("new_product", "new_product_invalid"):
        spec["lines"] = [*lines, (f"NEW-{index}", 1, Decimal("35.00"))]
    elif kind == "invalid_sku":
        spec["lines"] = [*lines, (f"TEE BLK {index}", 1, Decimal("12.50"))]
    elif kind == "bad_postcode":
        address["Postcode"] = rng.choice(("LS1", "12345", "ZZ99 9ZZZ"))
    elif kind == "unmapped_service":
        spec["carrier"] = "Pigeon Post Express"
    elif kind == "incomplete_address":
        address["Line1"] = ""
    elif kind == "unsupported_country":
        address.update({"Country": "United States", "Postcode": "10001", "City": "New York"})
    elif kind == "excluded_location":
        spec["location"] = "Retail Store"
    elif kind == "backordered":
        spec["status"] = "BACKORDERED"
    elif rng.random() < 0.1:
        spec["address"] = dict(ADDRESSES[3], Contact="Niamh Byrne")
        spec["carrier"] = "An Post"
    return spec


# A day allocates millions of short-lived objects (each moto request) over a heap that keeps growing (every
# item, message and archived body moto holds). Python's default thresholds ran 15 full collections of that
# heap in the 300-order day: 3.8 s of its 50 s of CPU (timed with gc.callbacks). During a day the sandbox's
# process asks for a full collection a hundred times less often; young and middle ones run as before.
_DAY_GC_THRESHOLDS = (700, 10, 1000)


@contextmanager
def _fewer_full_collections() -> Iterator[None]:
    """The day's garbage-collection thresholds (`_DAY_GC_THRESHOLDS`), the process's own again after it."""
    before = gc.get_threshold()
    gc.set_threshold(*_DAY_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_day(
    options: Options, *, config: ClientConfig | None = None, after: Callable[[Any], None] | None = None
) -> DayResult:
    """Drive one day through the local wiring and return the summary (see `summarise`).

    `after(local)` runs once the day is summarised, while moto and the simulators are still up (the
    operator commands of `hopline sandbox run --ops` run there).
    """
    with _fewer_full_collections():
        return _run_day(options, config=config, after=after)


def _run_day(options: Options, *, config: ClientConfig | None, after: Callable[[Any], None] | None) -> DayResult:
    from moto import mock_aws

    from sandbox import stock_day
    from sandbox.local import MOTO_CONFIG, LocalHopline
    from sandbox.simulators import registry

    started = time.perf_counter()
    rng = random.Random(options.seed)
    clock = VirtualClock(seed=options.seed)
    base_config = config or config_for_client(options.client)
    if base_config.pipelines.orders is not None:
        from sandbox import scenarios

        own = scenarios.for_source(base_config.settings_for(Role.ORDER_SOURCE).type)
        if own is not None:  # a pairing whose order source has a day of its own
            return cast(DayResult, own.run_day(options, config=base_config, after=after))
    knobs = registry.DayKnobs.of(options)
    pipelines = base_config.pipelines
    if pipelines.orders is None:
        raise ConfigError(f"{base_config.client}: a sandbox day needs an orders pipeline")
    with mock_aws(config=MOTO_CONFIG), registry.running(base_config, clock, knobs=knobs, rng=rng) as platforms:
        local = LocalHopline(platforms.config, clock, http_timeout=registry.SANDBOX_HTTP_TIMEOUT)
        local.start(platforms.secrets)
        source = platforms.hooks(Role.ORDER_SOURCE)
        target = platforms.hooks(Role.ORDER_TARGET)
        skus = [f"{s}-{c}-{z}" for s in STYLES for c in COLOURS for z in SIZES]
        for sku in skus:
            target.prepare_product(sku, name=sku.replace("-", " ").title())
        stock = None
        if pipelines.stock is not None:
            stock_settings = cast(ScendSettings, platforms.config.settings_for(Role.STOCK_TARGET))
            stock = stock_day.seed(
                platforms.hooks(Role.STOCK_MASTER),
                platforms.hooks(Role.STOCK_TARGET),
                skus,
                random.Random(options.seed + 2),
                stock_settings.warehouse_id or 1,
            )
            # The day is one of many after go-live: the stock master's full read has run before trading, so the
            # pusher holds a figure for every SKU. A SKU's first figure has no earlier one to confirm it against
            # and is pushed as read (docs/decisions.md D75): without this, a spike in the minutes before the
            # schedule's first run would be a first figure.
            local.run_schedule("read_stock")
            local.drain(flush=True)
        planned = _drive(
            options,
            rng,
            clock,
            local,
            source,
            platforms.webhook_secret(Role.ORDER_SOURCE),
            skus,
            scend=target,
            stock=stock,
        )
        summary = summarise(options, local, platforms, planned)
        if stock is not None:
            summary.update(
                stock_day.summary(local, platforms.hooks(Role.STOCK_MASTER), platforms.hooks(Role.STOCK_TARGET), stock)
            )
        if after is not None:
            after(local)
    # Real time is not the day's: it stays out of the summary, so a seed gives the same summary every run.
    details = {"cancel_execution_wall_ms": summary.pop("cancel_execution_wall_ms", None)}
    return DayResult(summary=summary, wall_seconds=time.perf_counter() - started, details=details)


def _drive(
    options: Options,
    rng: random.Random,
    clock: VirtualClock,
    local: Any,
    cin7: Any,
    hook_secret: str,
    skus: list[str],
    *,
    scend: Any = None,
    stock: Any = None,
) -> list[PlannedSale]:
    from sandbox import stock_day

    header = cast(Cin7CoreSettings, local.config.settings_for(Role.ORDER_SOURCE)).webhook_header
    path = local.webhook_path(Role.ORDER_SOURCE, "sales")
    kinds = list(KINDS)
    weights = [KINDS[k][0] for k in kinds]
    planned: list[PlannedSale] = []
    pending_duplicates: list[dict[str, Any]] = []
    schedules = Schedules(local, clock)
    spacing = max(2.0, options.day_hours * 3600 / max(1, options.orders))
    stats: Counter[str] = Counter()

    def deliver(payload: dict[str, Any], secret: str = hook_secret) -> int:
        status, _ = local.call_api(
            "POST", path, headers={header: secret, "Content-Type": "application/json"}, body=json.dumps(payload)
        )
        return status

    cancels = Cancels(local, cin7, scend, deliver, stats)

    for index in range(options.orders):
        clock.advance(spacing)
        cancels.void_due()
        kind = rng.choices(kinds, weights=weights)[0]
        order_number = f"SO-{10000 + index}"
        if kind in ("new_product", "new_product_invalid"):
            barcode = "5012345678900" if kind == "new_product" else "12AB"
            cin7.create_product(f"NEW-{index}", f"New drop {index}", barcode=barcode)
            stats["products_created"] += 1
        spec = _sale_spec(kind, rng, skus, index)
        sale_id = cin7.create_order(order_number=order_number, **spec)
        planned.append(PlannedSale(sale_id, order_number, kind, KINDS[kind][1], clock.now()))
        if stock is not None:
            # Authorising the sale allocated stock: Cin7 says so with a stock-level webhook, most times.
            if stock.rng.random() < options.stock_event_rate:
                stock_day.send_event(local, cin7, hook_secret, sorted({line[0] for line in spec["lines"]}), stock)
            if index % options.stock_incident_every == options.stock_incident_every - 1:
                stock_day.incident(local, cin7, scend, hook_secret, stock)
        if kind == "valid" and rng.random() < options.cancel_rate:
            planned[-1].cancel = rng.choices(list(CANCEL_KINDS), weights=list(CANCEL_KINDS.values()))[0]
        payload = cin7.order_event(sale_id)
        if rng.random() < options.missed_webhook_rate:
            stats["webhooks_missed"] += 1
        else:
            stats[f"webhook_{deliver(payload)}"] += 1
            if rng.random() < options.duplicate_rate:
                if rng.random() < 0.5:
                    stats[f"webhook_{deliver(payload)}"] += 1  # Cin7 retried at once
                else:
                    pending_duplicates.append(payload)  # Cin7 retries minutes later
                stats["webhooks_duplicated"] += 1
        if planned[-1].cancel is not None:
            cancels.plan(planned[-1], f"{local.config.orders.reference_prefix}-{order_number}", rng)
        if index == options.orders // 3:
            stats[f"webhook_{deliver(payload, secret='not-the-secret')}"] += 1
            stats[f"webhook_{deliver({'EventType': 'Sale/OrderAuthorised'})}"] += 1
        if index % 25 == 24:
            local.drain()
            for duplicate in pending_duplicates:
                stats[f"webhook_{deliver(duplicate)}"] += 1
            pending_duplicates.clear()
        schedules.run_due()
    local.drain()
    for duplicate in pending_duplicates:
        stats[f"webhook_{deliver(duplicate)}"] += 1
    # The rest of the day and the next: the warehouse picks and ships (late parcels included), the
    # despatch poll brings parcels back, failed write-backs retry. Every schedule runs when it is due.
    end = clock.now().timestamp() + options.follow_up_hours * 3600
    while clock.now().timestamp() < end:
        clock.advance(300)
        cancels.void_due()
        schedules.run_due()
    local.flush()  # what a batching window still holds reaches its hop before the day is judged
    scend.on_create(None)
    local.drive_stats = stats
    local.schedule_runs = schedules.runs
    return planned


class Cancels:
    """Voids sales at Cin7 Core at the planned moment and delivers the Sale/Voided webhook; the cancel
    queue is consumed at once, as its Lambda poller would."""

    def __init__(self, local: Any, cin7: Any, scend: Any, deliver: Any, stats: Counter[str]):
        self.local, self.cin7, self.scend, self.deliver, self.stats = local, cin7, scend, deliver, stats
        self.racing: dict[str, PlannedSale] = {}  # client reference -> sale voided while its submit is in flight
        self.late: list[tuple[PlannedSale, str, float]] = []  # (sale, reference, minutes after warehouse creation)
        scend.on_create(self._during_submit)

    def plan(self, sale: PlannedSale, reference: str, rng: random.Random) -> None:
        if sale.cancel == "before_submit":
            self.void(sale)
        elif sale.cancel == "during_submit":
            self.racing[reference] = sale
        else:
            low, high = CANCEL_DELAY_MINUTES[str(sale.cancel)]
            self.late.append((sale, reference, rng.uniform(low, high)))

    def void(self, sale: PlannedSale) -> None:
        voided = self.cin7.void_order(sale.sale_id)
        self.stats["cancels_voided"] += 1
        self.stats[f"webhook_{self.deliver(voided)}"] += 1
        self.local.drain_queue("cancel-requests")

    def void_due(self) -> None:
        """Void the late kinds whose moment (after the warehouse created the order) has come."""
        now = self.local.clock.now()
        waiting = []
        for sale, reference, minutes in self.late:
            created = self.scend.created_at(reference)
            if created is not None and now >= created + timedelta(minutes=minutes):
                self.void(sale)
            else:
                waiting.append((sale, reference, minutes))
        self.late = waiting
        self.local.wait_for_executions()

    def _during_submit(self, reference: str) -> None:
        """Scend hook, on the request thread, just before the create lands: void the sale and start its
        cancellation, and let the execution run until it waits (it must find the submit in flight)."""
        sale = self.racing.pop(reference, None)
        if sale is None:
            return
        waits = self.local.retry_waits
        self.void(sale)
        self.local.wait_until_execution_waits_or_ends(waits)


class Schedules:
    """Every ScheduleTrigger hop of the topology, run when due on the virtual clock (then queues drained)."""

    def __init__(self, local: Any, clock: VirtualClock):
        from shared import topology

        self.local = local
        self.clock = clock
        self.every: dict[str, float] = {}
        self.next: dict[str, float] = {}
        # hop -> (when it was due, when it ran) per run: how late other work (a drain) let it start
        self.runs: dict[str, list[tuple[float, float]]] = {}
        for hop in local.deployed.hops:
            if isinstance(hop.trigger, topology.ScheduleTrigger):
                expression = topology.config_value(local.config, hop.trigger.expression_field)
                self.every[hop.name] = poll_interval_seconds(expression)
                self.next[hop.name] = clock.now().timestamp() + self.every[hop.name]

    def run_due(self) -> None:
        ran = False
        for name, due in self.next.items():
            if self.clock.now().timestamp() >= due:
                self.runs.setdefault(name, []).append((due, self.clock.now().timestamp()))
                self.local.run_schedule(name)
                self.next[name] = self.clock.now().timestamp() + self.every[name]
                ran = True
        if ran:
            self.local.drain()


# The judge's own reading of the source: it must not borrow the connectors' mapping, or it would agree with
# them by construction. The day only uses these countries.
_COUNTRIES = {"united kingdom": "GB", "ireland": "IE", "united states": "US"}
CANCEL_EXPECTED = {
    "before_submit": "cancelled",
    "during_submit": "cancelled",
    "before_pick": "cancelled",
    "after_pick": "refused",
}
CANCELLED_AT_SCEND = 3


def _postcode(text: Any) -> str:
    return " ".join(str(text or "").upper().split())


def order_problems(
    sale: dict[str, Any], orders: list[dict[str, Any]], services: dict[str, str], default_service: str | None = None
) -> list[str]:
    """What is wrong with the warehouse's copy of a Cin7 sale: [] when the warehouse holds it exactly once,
    with the sale's lines and quantities, shipping address and mapped delivery service.

    `sale` is the sale as Cin7 holds it (GET sale); `orders` the warehouse's orders under the sale's
    reference as received (split-off parts folded back in); `services` the client's delivery-service map.
    """
    if not orders:
        return ["not at the warehouse"]
    if len(orders) > 1:
        return [f"{len(orders)} orders at the warehouse"]
    order = orders[0]
    problems: list[str] = []
    wanted: dict[str, Decimal] = {}
    for line in (sale.get("Order") or {}).get("Lines") or []:
        wanted[line["SKU"]] = wanted.get(line["SKU"], Decimal(0)) + Decimal(str(line["Quantity"]))
    held: dict[str, Decimal] = {}
    for item in order.get("OrderItems") or []:
        held[item["SKU"]] = held.get(item["SKU"], Decimal(0)) + Decimal(str(item["Quantity"]))
    if held != wanted:
        problems.append(f"lines {dict(sorted(held.items()))} != {dict(sorted(wanted.items()))}")
    address = sale.get("ShippingAddress") or {}
    name = " ".join(filter(None, [str(order.get("FirstName") or ""), str(order.get("LastName") or "")]))
    for label, at_warehouse, at_source in (
        ("name", name, " ".join(str(address.get("Contact") or "").split())),
        ("address line 1", str(order.get("Address1") or "").strip(), str(address.get("Line1") or "").strip()),
        ("town", str(order.get("Town") or "").strip(), str(address.get("City") or "").strip()),
        ("postcode", _postcode(order.get("PostCode")), _postcode(address.get("Postcode"))),
        (
            "country",
            str(order.get("Country") or ""),
            _COUNTRIES.get(str(address.get("Country") or "").strip().casefold(), "?"),
        ),
        (
            "service",
            str(order.get("CourierService") or ""),
            services.get(str(sale.get("Carrier") or ""), default_service or "?"),
        ),
    ):
        if at_warehouse != at_source:
            problems.append(f"{label} {at_warehouse!r} != {at_source!r}")
    return problems


def judge_sale(
    sale: PlannedSale,
    source: dict[str, Any],
    at_warehouse: list[dict[str, Any]],
    *,
    services: dict[str, str],
    default_service: str | None,
    stage: str | None,
    open_reasons: set[str],
) -> tuple[str, str]:
    """(verdict, what was found) for one planned sale, from the platforms' truth first.

    Verdicts: as_expected, lost, duplicated, wrong_at_warehouse, bad_order_reached_warehouse,
    wrong_outcome (held / skipped / quarantined for the wrong reason, a cancel the warehouse does not show).
    `stage` and `open_reasons` are the ledger's and the inbox's word, used only for what no platform shows.
    """
    live = [order for order in at_warehouse if order["OrderStatusId"] != CANCELLED_AT_SCEND]
    if sale.cancel is not None:
        if CANCEL_EXPECTED[sale.cancel] == "cancelled":
            # A cancel that should have been accepted: Scend holds nothing live under the reference.
            return ("as_expected", "cancelled") if not live else ("wrong_outcome", "live at the warehouse")
        # Too late to cancel: the order stays at Scend, exactly as sent, and the refusal reached operations.
        problems = order_problems(source, at_warehouse, services, default_service)
        if problems == ["not at the warehouse"]:
            return "lost", "not at the warehouse"
        if problems:
            return "wrong_at_warehouse", "; ".join(problems)
        if not live:
            return "wrong_outcome", "cancelled at the warehouse after it was picked"
        if not open_reasons & {"cancel_too_late", "cancel_return_started"}:
            return "wrong_outcome", "refused cancel not raised with operations"
        return "as_expected", "refused, at the warehouse"
    if sale.expected == "warehouse":
        problems = order_problems(source, at_warehouse, services, default_service)
        if not problems:
            return "as_expected", "at the warehouse"
        if problems == ["not at the warehouse"]:
            return "lost", f"not at the warehouse (ledger: {stage or 'nothing'})"
        if len(at_warehouse) > 1:
            return "duplicated", problems[0]
        return "wrong_at_warehouse", "; ".join(problems)
    if at_warehouse:
        return "bad_order_reached_warehouse", "at the warehouse"
    if sale.expected in ("held", "skipped"):
        ok = stage == sale.expected
        return ("as_expected", sale.expected) if ok else ("wrong_outcome", stage or "nothing in the ledger")
    return (
        ("as_expected", sale.expected)
        if sale.expected in open_reasons
        else ("wrong_outcome", ", ".join(sorted(open_reasons)) or stage or "nothing in the ledger")
    )


def failures(summary: dict[str, Any]) -> list[str]:
    """Why the day is not healthy (empty when it is): what `hopline sandbox run` exits non-zero for."""
    if "scenario" in summary:
        from sandbox import scenarios

        return cast(list[str], scenarios.named(summary["scenario"]).failures(summary))
    checks = [
        ("lost", summary["lost"]),
        ("duplicate orders at the warehouse", summary["duplicate_warehouse_orders"]),
        ("wrong outcomes", summary["wrong_outcome"]),
        ("orders at the warehouse unlike the source", summary["wrong_at_warehouse"]),
        ("bad orders at the warehouse", summary["bad_orders_reached_warehouse"]),
        ("despatches not written back to the source", summary.get("despatches_not_written_back", 0)),
        ("parcels written back twice", summary.get("duplicate_shipments_applied", 0)),
        ("cancellations the warehouse does not show as decided", summary.get("cancels_wrong", 0)),
        ("SKUs pushed above the master's available", summary.get("skus_pushed_above_master_available", 0)),
        ("stock spikes pushed", summary.get("spikes_pushed", 0)),
    ]
    return [f"{label}: {count}" for label, count in checks if count]


def summarise(options: Options, local: Any, platforms: Any, planned: list[PlannedSale]) -> dict[str, Any]:
    """The day judged from what the platforms hold (`platforms`: sandbox.simulators.registry.Platforms),
    a block per enabled pipeline."""
    cin7 = platforms.hooks(Role.ORDER_SOURCE)
    scend = platforms.hooks(Role.ORDER_TARGET)
    pipelines = local.config.pipelines
    rt = local.runtime
    prefix = local.config.orders.reference_prefix
    ledger = {entry.order_key: entry for entry in rt.ledger.scan()}
    from sandbox.budget import cin7_budget
    from shared.steps.monitors import MONITOR_FLOWS

    every_exception = rt.exceptions.list(status=None)
    # The monitors' exceptions (stalled, mismatched) are about timing, not data: reported apart below.
    exceptions = [e for e in every_exception if e.flow not in MONITOR_FLOWS]
    open_reasons: dict[str, set[str]] = {}
    for e in exceptions:
        if e.status == "open":
            open_reasons.setdefault(e.business_key, set()).update({e.reason.value, *e.reasons})
    at_warehouse = scend.orders_by_reference()
    dlq = local.dlq_messages()
    in_dlq_ids = {body.get("source_id") for bodies in dlq.values() for body in bodies}
    source = local.config.settings_for(Role.ORDER_SOURCE).type
    services = dict(local.config.orders.delivery_services)

    verdicts: Counter[str] = Counter()
    wrong: list[dict[str, str]] = []
    for sale in planned:
        key = f"{source}#{sale.sale_id}"
        entry = ledger.get(key)
        verdict, found = judge_sale(
            sale,
            cin7.order(sale.sale_id),
            at_warehouse.get(f"{prefix}-{sale.order_number}", []),
            services=services,
            default_service=local.config.orders.default_delivery_service,
            stage=entry.stage.value if entry else None,
            open_reasons=open_reasons.get(key, set()),
        )
        verdicts[verdict] += 1
        if verdict != "as_expected":
            in_dlq = " (its message is in a DLQ)" if sale.sale_id in in_dlq_ids else ""
            wrong.append(
                {
                    "order": sale.order_number,
                    "kind": sale.kind,
                    "cancel": sale.cancel or "",
                    "verdict": verdict,
                    "got": found + in_dlq,
                }
            )

    stages = Counter(entry.stage.value for entry in ledger.values())
    # Orders only: stock exceptions (drift, refused figures) are summarised with the stock figures.
    orders, quarantined, other_exceptions = _order_outcomes(ledger, exceptions)
    source_stats = local.call_stats(local.config.platform_for(Role.ORDER_SOURCE))
    warehouse_stats = local.call_stats(local.config.platform_for(Role.ORDER_TARGET))
    released = sum(stages[stage] for stage in ("released", "submitted", "part_shipped", "shipped"))
    valid = sum(1 for s in planned if s.expected == "warehouse")
    source_type = local.config.settings_for(Role.ORDER_SOURCE).type
    target_type = local.config.settings_for(Role.ORDER_TARGET).type
    cin7_calls = cin7.calls()
    scend_calls = scend.calls()
    drive = getattr(local, "drive_stats", Counter())
    despatch: dict[str, Any] = {}
    if pipelines.shipments is not None:
        despatch = _despatch_summary(
            local,
            platforms.hooks(Role.SHIPMENT_TARGET),
            platforms.hooks(Role.SHIPMENT_SOURCE),
            ledger,
            exceptions,
            planned,
        )
    catalogue: dict[str, Any] = {}
    if pipelines.catalogue is not None:
        catalogue = _catalogue_summary(local, planned, ledger, at_warehouse, prefix)
        catalogue["warehouse_product_writes"] = platforms.hooks(Role.CATALOGUE_TARGET).product_writes
    cancellation: dict[str, Any] = {}
    if pipelines.cancellation is not None:
        cancellation = _cancel_summary(local, cin7, platforms.hooks(Role.CANCEL_TARGET), planned, ledger, prefix)
    return {
        "client": local.config.client,
        "seed": options.seed,
        "fault_rate": options.fault_rate,
        "duplicate_rate": options.duplicate_rate,
        "warehouse_rejects_duplicates": options.warehouse_rejects_duplicates,
        "orders_sent": len(planned),
        "sales_by_kind": dict(sorted(Counter(sale.kind for sale in planned).items())),
        "unique_valid_orders": valid,
        "webhooks_accepted": drive.get("webhook_202", 0),
        "webhooks_rejected_unauthorised": drive.get("webhook_401", 0),
        "webhooks_duplicated": drive.get("webhooks_duplicated", 0),
        "webhooks_missed_recovered_by_poll": drive.get("webhooks_missed", 0),
        "orders_received": len(ledger),
        # Every order received is in exactly one of these (its ledger stage): they add up to orders_received.
        "orders": orders,
        "released": released,
        "held": stages["held"],
        "skipped_excluded_location": stages["skipped"],
        "not_ready": stages["not_ready"],
        # Quarantined orders by the reason in their open exception (orders only: no SKU, parcel or webhook).
        "quarantined": quarantined,
        "quarantined_total": orders["quarantined"],
        # Open exceptions that are not an order's quarantine, by what they are about, then reason.
        "other_exceptions": other_exceptions,
        "warehouse_orders": sum(len(orders) for orders in at_warehouse.values()),
        "duplicate_warehouse_orders": scend.duplicate_references(),
        "duplicates_suppressed": sum(entry.duplicates_suppressed for entry in ledger.values()),
        "warehouse_duplicate_rejections": scend.duplicate_rejections,
        "retries": {
            "http": source_stats.retries + warehouse_stats.retries,
            "sqs_redeliveries": sum(local.record_failures.values()),
        },
        "throttled_responses": source_stats.throttled + warehouse_stats.throttled,
        "faults_injected": {
            platforms.config.platforms[name].type: hooks.faults_injected
            for name, hooks in platforms.hooks_by_instance.items()
        },
        "in_dlq": sum(len(bodies) for bodies in dlq.values()),
        "schedule_runs_failed": dict(local.schedule_failures),
        "schedule_events_dead_lettered": len(local.schedule_dead_letters),
        "verdicts": dict(sorted(verdicts.items())),
        "lost": verdicts["lost"],
        "wrong_outcome": verdicts["wrong_outcome"],
        "wrong_at_warehouse": verdicts["wrong_at_warehouse"] + verdicts["duplicated"],
        "bad_orders_reached_warehouse": verdicts["bad_order_reached_warehouse"],
        "as_expected": verdicts["as_expected"],
        **(
            {"cin7_budget": cin7_budget(cin7.simulator, released)}
            if hasattr(getattr(cin7, "simulator", None), "calls")
            else {}
        ),
        "api_calls": {
            source_type: cin7_calls,
            target_type: scend_calls,
            f"{source_type}_per_released_order": round(cin7_calls / released, 3) if released else None,
            f"{target_type}_per_released_order": round(scend_calls / released, 3) if released else None,
        },
        **despatch,
        **catalogue,
        **cancellation,
        "monitor": _monitor_summary(every_exception),
        "unexpected": wrong[:20],
    }


# Which ledger stages count as which outcome, so every order received is counted once.
ORDER_OUTCOMES: dict[str, tuple[str, ...]] = {
    "released": ("released", "submitted", "part_shipped", "shipped"),
    "held": ("held",),
    "skipped": ("skipped",),
    "quarantined": ("quarantined",),
    "cancelled": ("cancelled",),
    "undecided": ("received", "not_ready"),
}
ORDER_FLOWS = ("order_intake", "order_submit")
# What an open exception that is not an order's quarantine is about, by its flow.
EXCEPTION_SUBJECTS = {
    "cancellation": "cancels",
    "shipment_writeback": "write_backs",
    "product_sync": "skus",
    "stock_sync": "stock",
    "stock_drift": "stock",
}


def _order_outcomes(
    ledger: dict[str, Any], exceptions: list[Any]
) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, int]]]:
    """(orders by outcome, quarantined orders by reason, other open exceptions by subject and reason).

    The outcomes are read from each order's ledger stage, so they add up to the orders received; a
    quarantined order's reason is its open order exception's (one per order, "unrecorded" if none). Every
    other open exception (a held order flagged, a cancel refused, a write-back, a SKU, a refused webhook,
    stock) is counted apart, never as an order."""
    by_stage = Counter(entry.stage.value for entry in ledger.values())
    orders = {outcome: sum(by_stage[stage] for stage in stages) for outcome, stages in ORDER_OUTCOMES.items()}
    orders = {"received": len(ledger), **orders}
    quarantined_keys = {key for key, entry in ledger.items() if entry.stage.value == "quarantined"}
    reason_of: dict[str, str] = {}
    other: dict[str, Counter[str]] = {}
    for e in exceptions:
        if e.status != "open":
            continue
        if e.flow in ORDER_FLOWS and e.business_key in quarantined_keys:
            reason_of.setdefault(e.business_key, e.reason.value)
            continue
        if e.flow in ORDER_FLOWS:
            subject = "orders_not_quarantined" if e.business_key in ledger else "webhooks"
        else:
            subject = EXCEPTION_SUBJECTS.get(e.flow, e.flow)
        other.setdefault(subject, Counter())[e.reason.value] += 1
    reasons = Counter(reason_of.get(key, "unrecorded") for key in quarantined_keys)
    return (
        orders,
        dict(sorted(reasons.items())),
        {subject: dict(sorted(counts.items())) for subject, counts in sorted(other.items())},
    )


def _catalogue_summary(
    local: Any, planned: list[PlannedSale], ledger: dict[str, Any], at_warehouse: dict[str, Any], prefix: str
) -> dict[str, Any]:
    """SKU fan-out: products synced or rejected, and orders that waited for a SKU then went on their own."""
    from datetime import datetime

    records = local.runtime.sku_map
    items = records.table.scan().get("Items", [])
    synced = [i for i in items if i.get("via") == "product_sync" and i.get("status") == "live"]
    rejected = [i for i in items if i.get("status") == "rejected"]
    source = local.config.settings_for(Role.ORDER_SOURCE).type
    held, released, waits = 0, 0, []
    for sale in planned:
        if sale.kind not in ("new_product", "new_product_invalid", "unknown_sku"):
            continue
        entry = ledger.get(f"{source}#{sale.sale_id}")
        if entry is None or "held" not in entry.timestamps:
            continue
        held += 1
        if f"{prefix}-{sale.order_number}" in at_warehouse and "released" in entry.timestamps:
            released += 1
            waits.append((datetime.fromisoformat(entry.timestamps["released"]) - sale.created_at).total_seconds())
    return {
        "skus_synced": len(synced),
        "skus_rejected": len(rejected),
        "orders_held_for_sku": held,
        "orders_released_after_sku": released,
        "product_to_release_seconds": {"p50": _percentile(waits, 0.5), "max": round(max(waits), 1) if waits else None},
    }


def _cancel_summary(
    local: Any, cin7: Any, scend: Any, planned: list[PlannedSale], ledger: dict[str, Any], prefix: str
) -> dict[str, Any]:
    """Cancellations: outcomes from the executions, latency request -> outcome (virtual seconds), and the
    warehouse's truth: a cancel that should have been accepted whose order still shipped, or is still live
    at Scend, is a failure, whatever the ledger recorded."""
    from datetime import datetime

    from shared.flows.cancellation import Outcome

    executions = local.executions()
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    wall_ms = [(e["stopDate"] - e["startDate"]).total_seconds() * 1000 for e in executions if e.get("stopDate")]
    waited = 0
    for execution in executions:
        output = json.loads(execution.get("output") or "null") or {}
        record = output.get("record") or {}
        if record:
            outcomes[record["outcome"]] += 1
            requested = datetime.fromisoformat(output["request"]["requested_at"])
            latencies.append((datetime.fromisoformat(record["decided_at"]) - requested).total_seconds())
    for count_key, count in local.task_errors.items():
        if count_key == "lookup_cancellation:SubmitInFlightError":
            waited += count
    source = local.config.settings_for(Role.ORDER_SOURCE).type
    shipped_after, live_after, wrong = 0, 0, 0
    by_reference = scend.orders_by_reference()
    for sale in planned:
        if sale.cancel is None:
            continue
        held = by_reference.get(f"{prefix}-{sale.order_number}", [])
        if CANCEL_EXPECTED[sale.cancel] == "cancelled":
            shipped = sum(1 for order in held if scend.was_shipped(order["ID"]))
            live = sum(
                1
                for order in held
                if order["OrderStatusId"] != CANCELLED_AT_SCEND and not scend.was_shipped(order["ID"])
            )
            shipped_after += shipped
            live_after += live
            wrong += bool(shipped or live)
        elif not held or all(order["OrderStatusId"] == CANCELLED_AT_SCEND for order in held):
            wrong += 1  # a refused cancel must leave the order at the warehouse
    by_kind = Counter(sale.cancel for sale in planned if sale.cancel)
    outcome_by_kind: dict[str, dict[str, int]] = {}
    for sale in planned:
        if sale.cancel:
            entry = ledger.get(f"{source}#{sale.sale_id}")
            got = (entry.cancel_outcome if entry else None) or "none"
            outcome_by_kind.setdefault(sale.cancel, Counter())[got] += 1  # type: ignore[index]
    return {
        "cancels_requested": len(executions),
        "cancels_by_moment": dict(sorted(by_kind.items())),
        "cancel_outcomes_by_moment": {k: dict(v) for k, v in sorted(outcome_by_kind.items())},
        "cancelled_before_submit": outcomes[Outcome.CANCELLED_BEFORE_SUBMIT],
        "cancelled_at_warehouse": outcomes[Outcome.CANCELLED_AT_WAREHOUSE],
        "cancels_already_cancelled": outcomes[Outcome.ALREADY_CANCELLED],
        "cancels_refused_too_late": outcomes[Outcome.REFUSED_TOO_LATE],
        "cancels_refused_return_started": outcomes[Outcome.REFUSED_RETURN_STARTED],
        "cancels_refused_by_warehouse": outcomes[Outcome.REFUSED_BY_WAREHOUSE],
        "cancel_executions_failed": sum(1 for e in executions if e["status"] != "SUCCEEDED"),
        "cancel_waits_for_submit_in_flight": waited,
        "cancel_calls_to_the_warehouse": scend.cancel_requests,
        "cancel_calls_refused_by_the_warehouse": scend.cancel_refusals,
        "shipped_after_cancel": shipped_after,
        "live_at_warehouse_after_cancel": live_after,
        "cancels_wrong": wrong,
        "cancel_notes_written": cin7.notes_written,
        # Virtual seconds from the request to the recorded outcome (waits for an in-flight submit count).
        "cancel_decision_latency_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
        # Real milliseconds per execution on moto (every task a real handler call, the warehouse over HTTP).
        "cancel_execution_wall_ms": {"p50": _percentile(wall_ms, 0.5), "p95": _percentile(wall_ms, 0.95)},
    }


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def _despatch_summary(
    local: Any, cin7: Any, scend: Any, ledger: dict[str, Any], exceptions: list[Any], planned: list[PlannedSale]
) -> dict[str, Any]:
    """Despatch and tracking back, judged at Cin7 Core: every despatch Scend made of one of the day's sales
    must show its tracking numbers on shipped lines of the sale's fulfilments. A sale voided at Cin7 after
    the warehouse refused the cancel takes no write-back (Cin7 refuses it): such a despatch is right when
    the refusal waits in the inbox for operations."""
    from datetime import datetime

    from shared.connectors.cin7_core.mapping import box_label

    prefix = local.config.orders.reference_prefix
    by_reference = {f"{prefix}-{sale.order_number}": sale for sale in planned}
    # A parcel that left after the despatch poll's last run could not be seen by the day: it is in flight when
    # the day is judged (a late split part of an order taken near the end of trading), not missing.
    polls = getattr(local, "schedule_runs", {}).get("poll_despatches") or []
    last_poll = max((ran for _, ran in polls), default=None)
    made = [d for d in scend.despatches() if d["OrderNumber"] in by_reference]
    despatches = [
        d for d in made if last_poll is None or datetime.fromisoformat(str(d["DespatchDate"])).timestamp() <= last_poll
    ]
    in_flight = len(made) - len(despatches)
    parked = {e.business_key for e in exceptions if e.flow == "shipment_writeback" and e.status != "resolved"}
    written, missing, refused_voided = 0, 0, 0
    missing_detail: list[dict[str, Any]] = []
    for despatch in despatches:
        sale = by_reference[despatch["OrderNumber"]]
        at_cin7 = set(cin7.tracking_numbers(sale.sale_id))
        if set(despatch["TrackingNumbers"]) <= at_cin7:
            written += 1
        elif cin7.order_voided(sale.sale_id) and f"scend#parcel#{despatch['DespatchId']}" in parked:
            refused_voided += 1
        else:
            missing += 1
            missing_detail.append(
                {
                    "order": sale.order_number,
                    "despatch": despatch["DespatchId"],
                    "tracking": despatch["TrackingNumbers"],
                }
            )
    applied = [
        (key, parcel_id, record) for key, entry in ledger.items() for parcel_id, record in entry.shipments.items()
    ]
    latencies = [
        (datetime.fromisoformat(r["applied_at"]) - datetime.fromisoformat(r["despatched_at"])).total_seconds()
        for _, _, r in applied
    ]
    # A despatch applied twice at the source would show its box label on two fulfilment tasks.
    duplicates = 0
    for key, parcel_id, _ in applied:
        tasks = cin7.fulfilments(key.split("#", 1)[1])
        carrying = sum(1 for task in tasks if box_label(parcel_id) in json.dumps(task))
        duplicates += max(0, carrying - 1)
    writeback = [e for e in exceptions if e.flow == "shipment_writeback"]
    fulfilment_calls = sum(count for route, count in cin7.requests.items() if "fulfilment" in route)
    poll_calls = sum(
        count
        for route, count in scend.requests.items()
        if route == "GET /api/order/list" or re.fullmatch(r"GET /api/order/\d+/(shipments|splits|items)", route)
    )
    return {
        "shipments_seen": len(made),
        "parcels_seen": sum(len(d["Parcels"]) for d in made),
        "shipments_applied": len(applied),
        "despatches_written_back": written,
        "despatches_not_written_back": missing,
        "despatches_after_last_poll": in_flight,
        "despatches_refused_after_void": refused_voided,
        "despatches_missing": missing_detail[:10],
        "duplicate_shipments_applied": duplicates,
        "orders_closed": sum(1 for entry in ledger.values() if entry.closed),
        "orders_shipped_in_full": sum(1 for entry in ledger.values() if entry.stage.value == "shipped"),
        "orders_shipped_in_part": sum(1 for entry in ledger.values() if entry.stage.value == "part_shipped"),
        "writeback_exceptions": {
            "retrying": sum(1 for e in writeback if e.status == "retrying"),
            "open": sum(1 for e in writeback if e.status == "open"),
            "resolved": sum(1 for e in writeback if e.status == "resolved"),
        },
        "writeback_latency_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
        "cin7_calls_per_shipment_applied": round(fulfilment_calls / len(applied), 2) if applied else None,
        # The card's despatch poll: Order/List pages, and per despatched order its Shipments (Splits, Items).
        "scend_despatch_poll_calls": {
            "total": poll_calls,
            "per_despatch": round(poll_calls / len(despatches), 2) if despatches else None,
        },
    }


def _monitor_summary(exceptions: list[Any]) -> dict[str, Any]:
    """What the order monitor flagged during the day: stalled and mismatched orders, open and resolved."""
    from shared.steps.monitors import MISMATCH_FLOW, STALL_FLOW

    counts: dict[str, Any] = {}
    for name, flow in (("stalled", STALL_FLOW), ("mismatched", MISMATCH_FLOW)):
        flagged = [e for e in exceptions if e.flow == flow]
        counts[name] = {
            "flagged": len(flagged),
            "open": sum(1 for e in flagged if e.status == "open"),
            "resolved": sum(1 for e in flagged if e.status == "resolved"),
        }
    return counts
