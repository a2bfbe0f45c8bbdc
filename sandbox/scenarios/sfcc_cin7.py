"""The SFCC -> Cin7 Core day: orders placed at an SFCC site, found by the release poll, posted to Cin7 as sales.

Orders are placed over the day with the shapes finance must reconcile: gross and net taxation, item and
order discounts (prorated by the site, each share rounded on its own, so lines may miss the order's totals
by a unit or two), several tax rates, and the currencies the client posts to a Cin7 customer (the example
has 0, 2 and 3 decimals). Some fail validation; some are cancelled at the site before they are exported,
some after (before or after the warehouse picked the sale). Nothing is pushed: the poll finds them. A
share (`duplicate_rate`) have their export-status claim refused, so they are listed again after their sale
exists: that is how SFCC delivers an order twice.

The verdicts come from the platforms: the Cin7 simulator's sales by ExternalID (one per order, its own
order-stage arithmetic equal to SFCC's orderTotal, taxTotal and shippingTotal, in the order's currency,
voided or left as the cancel asked) and the site's export status. Only a quarantine's reason and a refused
cancel, which no platform shows, are read from the exception inbox and the ledger. The judge reads both
platforms itself and borrows no connector mapping, or it would agree with them by construction.

The day is built from one phase per configured pipeline (PHASES). A pipeline configured without a phase
is named in the summary (`pipelines_without_a_day_phase`) instead of being judged by nothing.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, cast

from shared.clock import VirtualClock
from shared.config import ClientConfig, config_for_client
from shared.connectors.sfcc.mapping import format_sfcc_datetime
from shared.connectors.spec import Role
from shared.errors import ConfigError
from shared.models import ReasonCode
from shared.models.currency import minor_unit_exponent

SCENARIO = "sfcc_cin7"
POSTED = "posted"
HELD = "held"

KINDS: dict[str, tuple[float, str]] = {
    # kind: (share of orders, expected outcome: posted, held or the quarantine's reason code)
    "valid": (0.76, POSTED),
    "unknown_sku": (0.02, HELD),  # a SKU Cin7 does not have: held for it
    "invalid_sku": (0.02, ReasonCode.SKU_INVALID.value),
    "bad_postcode": (0.03, ReasonCode.POSTCODE_INVALID.value),
    "incomplete_address": (0.02, ReasonCode.ADDRESS_INCOMPLETE.value),
    "unsupported_country": (0.03, ReasonCode.COUNTRY_UNSUPPORTED.value),
    "unmapped_shipping": (0.03, ReasonCode.DELIVERY_SERVICE_UNMAPPED.value),
    "bad_currency": (0.02, ReasonCode.PAYLOAD_INVALID.value),  # not an ISO 4217 code
    "totals_off": (0.02, ReasonCode.PAYLOAD_INVALID.value),  # orderTotal 25 minor units above its parts
}
# Valid orders cancelled at the site, and when: before the poll finds them, once exported (the sale not yet
# picked: Cin7 voids it), once the warehouse has picked the sale (past the cut-off: refused, for operations).
CANCEL_RATE = 0.12
CANCEL_KINDS: dict[str, float] = {"before_export": 0.35, "after_export": 0.45, "after_pick": 0.2}
CANCEL_DELAY_MINUTES = (5.0, 30.0)  # after placing, and once the site shows the order exported
STEP_SECONDS = 60.0  # the day advances at most this far between looks at the platforms
SITE_EXPORT = {POSTED: "exported", HELD: "ready"}  # a quarantined order is marked failed

STYLES = ("TEE", "HOODIE", "CAP", "SOCK", "JOGGER")
COLOURS = ("BLK", "WHT", "NVY")
SIZES = ("S", "M", "L")
PRICES_PENCE = (895, 1250, 1999, 2400, 4500, 6999)
# Roughly what a pound buys: the site's price books per currency.
PER_POUND = {"GBP": "1", "EUR": "1.17", "USD": "1.27", "JPY": "190", "KWD": "0.39"}
TAX_RATES = ("0.2", "0.05", "0", "0.1", "0.23", "0.19")
ADDRESSES = {
    "GB": (
        {"address1": "1 High Street", "city": "Leeds", "postalCode": "LS1 1AA"},
        {"address1": "22 Mill Lane", "city": "Bristol", "postalCode": "BS1 4DJ"},
        {"address1": "5 Quay Road", "city": "Glasgow", "postalCode": "G2 1QX"},
    ),
    "IE": ({"address1": "14 Harcourt St", "city": "Dublin", "postalCode": "D02 X285"},),
    "FR": ({"address1": "8 Rue de Rivoli", "city": "Paris", "postalCode": "75001"},),
    "DE": ({"address1": "3 Torstrasse", "city": "Berlin", "postalCode": "10115"},),
}
NAMES = (("Ann", "Lee"), ("Sam", "Patel"), ("Niamh", "Byrne"), ("Luca", "Moreau"), ("Jo", "Smith"))
SHIPPING_PENCE = {"UK-STD": 399, "UK-NEXT": 699, "EU-STD": 999}


@dataclass
class PlannedOrder:
    order_no: str
    kind: str
    expected: str  # POSTED, HELD or a reason code
    placed_at: datetime
    currency: str
    taxation: str
    cancel: str | None = None  # a CANCEL_KINDS key when the site cancels it
    cancel_due: datetime | None = None
    cancelled_at: datetime | None = None  # None: not cancelled (or its moment never came)
    claim_refusals: int = 0  # export-status writes the site refuses


def _json_money(minor: int, currency: str) -> int | float:
    """Minor units as the JSON number SFCC sends in major units (exact: at most 15 significant digits)."""
    exponent = minor_unit_exponent(currency) if currency in PER_POUND else 2
    value = Decimal(minor).scaleb(-exponent)
    return int(value) if exponent == 0 else float(value)


def _minor_price(pence: int, currency: str) -> int:
    exponent = minor_unit_exponent(currency) if currency in PER_POUND else 2
    value = Decimal(pence) * Decimal(PER_POUND.get(currency, "1")) * Decimal(10) ** (exponent - 2)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _tax_of(minor: int, rate: Decimal, gross: bool) -> int:
    value = Decimal(minor) * (rate / (1 + rate) if gross else rate)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def sfcc_order(
    kind: str, rng: random.Random, order_no: str, stamp: str, currency: str, skus: list[str], *, site_id: str
) -> dict[str, Any]:
    """One order as SCAPI Orders returns it, its money computed as the site does (in minor units, then as
    JSON numbers in major units of the order's own currency)."""
    gross = rng.random() < 0.6
    country = rng.choice(("IE", "FR", "DE")) if currency == "EUR" else "GB"
    method = "EU-STD" if country != "GB" else rng.choice(("UK-STD", "UK-STD", "UK-NEXT"))
    lines: list[dict[str, Any]] = []
    raw = []
    for _ in range(rng.randint(1, 4)):
        quantity = rng.randint(1, 3)
        unit = _minor_price(rng.choice(PRICES_PENCE), currency)
        item_discount = int(unit * quantity * Decimal("0.1")) if rng.random() < 0.2 else 0
        raw.append((rng.choice(skus), quantity, unit, unit * quantity - item_discount, Decimal(rng.choice(TAX_RATES))))
    if kind == "unknown_sku":
        raw.append(
            (f"NEW-DROP-{order_no}", 1, _minor_price(3000, currency), _minor_price(3000, currency), Decimal("0.2"))
        )
    elif kind == "invalid_sku":
        raw.append(
            (f"TEE BLK {order_no}", 1, _minor_price(1250, currency), _minor_price(1250, currency), Decimal("0.2"))
        )
    subtotal = sum(after_item for *_, after_item, _ in raw)
    order_discount = 0
    if rng.random() < 0.3:
        order_discount = min(subtotal // 3, _minor_price(rng.choice((500, 1000)), currency))
    # The site's proration: each share rounded on its own, so the shares may miss the order discount.
    shares = [
        int((Decimal(order_discount) * after_item / subtotal).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if subtotal
        else 0
        for *_, after_item, _ in raw
    ]
    line_tax = 0
    for position, ((sku, quantity, unit, after_item, rate), share) in enumerate(zip(raw, shares, strict=True), 1):
        after_order = after_item - share
        adjusted_tax = _tax_of(after_order, rate, gross)
        line_tax += adjusted_tax
        lines.append(
            {
                "itemId": f"{order_no}-{position}",
                "productId": sku,
                "productName": sku.replace("-", " ").title(),
                "quantity": quantity,
                "shipmentId": "me",
                "basePrice": _json_money(unit, currency),
                "priceAfterItemDiscount": _json_money(after_item, currency),
                "priceAfterOrderDiscount": _json_money(after_order, currency),
                "tax": _json_money(_tax_of(after_item, rate, gross), currency),
                "adjustedTax": _json_money(adjusted_tax, currency),
                "taxRate": float(rate),
            }
        )
    shipping = 0 if rng.random() < 0.15 else _minor_price(SHIPPING_PENCE[method], currency)
    shipping_tax = _tax_of(shipping, Decimal("0.2"), gross)
    product_total = subtotal - order_discount
    # The site taxes the basket as a whole now and then: a unit away from the sum of its lines' taxes.
    tax_total = line_tax + shipping_tax + (rng.choice((-1, 1)) if rng.random() < 0.1 else 0)
    order_total = product_total + shipping + (0 if gross else tax_total)
    if kind == "totals_off":
        order_total += 25  # more than the rounding line may carry (max_rounding_minor_units): quarantined
    first, last = rng.choice(NAMES)
    address: dict[str, Any] = {"firstName": first, "lastName": last, **rng.choice(ADDRESSES[country])}
    address["countryCode"] = country
    if kind == "bad_postcode":
        address["postalCode"] = rng.choice(("LS1", "ZZ99 9ZZZ", "12345"))
    elif kind == "incomplete_address":
        address["address1"] = ""
    elif kind == "unsupported_country":
        address.update({"countryCode": "US", "city": "New York", "postalCode": "10001", "address1": "5 Main St"})
    if kind == "unmapped_shipping":
        method = "US-EXPRESS"
    return {
        "orderNo": order_no,
        "siteId": site_id,
        "currency": "G8P" if kind == "bad_currency" else currency,
        "taxation": "gross" if gross else "net",
        "status": "new",
        "exportStatus": "ready",
        "confirmationStatus": "confirmed",
        "paymentStatus": "paid",
        "shippingStatus": "not_shipped",
        "creationDate": stamp,
        "placeDate": stamp,
        "lastModified": stamp,
        "customerInfo": {"email": f"{first.lower()}.{order_no}@example.com"},
        "productItems": lines,
        # The basket discount in the order's taxation (gross or net price), as a negative price.
        "orderPriceAdjustments": (
            [
                {
                    "promotionId": "basket-off",
                    "grossPrice" if gross else "netPrice": -_json_money(order_discount, currency),
                }
            ]
            if order_discount
            else []
        ),
        "shipments": [
            {
                "shipmentId": "me",
                "shipmentNo": f"{order_no}-1",
                "shippingMethod": {"id": method},
                "shippingStatus": "not_shipped",
                "shippingAddress": address,
            }
        ],
        "shippingItems": [
            {
                "itemId": f"{order_no}-s",
                "shipmentId": "me",
                "type": "fixed_price",
                "basePrice": _json_money(shipping, currency),
                "adjustedTax": _json_money(shipping_tax, currency),
                "taxRate": 0.2,
            }
        ],
        "productSubTotal": _json_money(subtotal, currency),
        "productTotal": _json_money(product_total, currency),
        "shippingTotal": _json_money(shipping, currency),
        "shippingTotalTax": _json_money(shipping_tax, currency),
        "taxTotal": _json_money(tax_total, currency),
        "orderTotal": _json_money(order_total, currency),
    }


# -- the day ---------------------------------------------------------------------------------------
class Day:
    """The day's state: the clock, the local stack, the two platforms' hooks, the orders placed so far."""

    def __init__(self, options: Any, rng: random.Random, clock: VirtualClock, local: Any, platforms: Any):
        from sandbox.scenario import Schedules

        self.options, self.rng, self.clock, self.local, self.platforms = options, rng, clock, local, platforms
        self.config: ClientConfig = local.config
        self.sfcc = platforms.hooks(Role.ORDER_SOURCE)
        self.cin7 = platforms.hooks(Role.ORDER_TARGET)
        self.sales = self.config.settings_for(Role.ORDER_TARGET).sales  # type: ignore[attr-defined]
        self.prefix = self.config.orders.reference_prefix
        self.planned: list[PlannedOrder] = []
        self.schedules = Schedules(local, clock)
        self.phases: list[Phase] = []

    def reference(self, order: PlannedOrder) -> str:
        return f"{self.prefix}-{order.order_no}"

    def live_sale(self, order: PlannedOrder) -> dict[str, Any] | None:
        """The order's authorised sale at Cin7, once it has one (the warehouse may pick it from then on)."""
        for sale in self.cin7.simulator.sales_by_external_id(self.reference(order)):
            if sale["Status"] != "VOIDED" and sale["Order"]["Status"] == "AUTHORISED":
                return cast(dict[str, Any], sale)
        return None

    def advance(self, seconds: float) -> None:
        """Move the clock in steps: at each, the phases act where a moment has come, then every schedule due
        runs (the release poll every minute), its queues are drained and its executions run to their end."""
        end = self.clock.now().timestamp() + seconds
        while (left := end - (now := self.clock.now().timestamp())) >= 0.001:  # the clock counts microseconds
            # To the next schedule due (so a poll runs when it is due, not on the day's own beat), or less.
            due = min(self.schedules.next.values(), default=now + STEP_SECONDS)
            self.clock.advance(max(0.001, min(STEP_SECONDS, left, due - now + 0.001)))
            for phase in self.phases:
                phase.tick()
            self.schedules.run_due()
            self.local.wait_for_executions()


class Phase:
    """One pipeline's part of the day: what happens at the platforms as it passes, and its verdicts."""

    pipeline: ClassVar[str]

    def __init__(self, day: Day):
        self.day = day

    def placed(self, order: PlannedOrder) -> None:
        """An order was just placed at the site."""

    def tick(self) -> None:
        """The clock moved on: act where a planned moment has come."""

    def summary(self) -> dict[str, Any]:
        return {}


class OrdersPhase(Phase):
    """Orders into Cin7: a share of the valid ones have their export-status claim refused (listed again)."""

    pipeline = "orders"

    def __init__(self, day: Day):
        super().__init__(day)
        self.rng = random.Random(day.options.seed + 5)  # apart from the orders' draws
        self.attempts = day.config.platforms[day.config.platform_for(Role.ORDER_SOURCE)].retry.max_attempts  # type: ignore[attr-defined]

    def placed(self, order: PlannedOrder) -> None:
        if order.expected == POSTED and self.rng.random() < self.day.options.duplicate_rate:
            # Every attempt of one or two claims (each retried in-call) answers 503.
            order.claim_refusals = self.attempts * self.rng.choice((1, 2))
            self.day.sfcc.refuse_export_status(order.order_no, order.claim_refusals)

    def summary(self) -> dict[str, Any]:
        return judge_orders(self.day)


class CancellationPhase(Phase):
    """Cancels at the site: before the poll finds the order, or once it is exported (and maybe picked)."""

    pipeline = "cancellation"

    def __init__(self, day: Day):
        super().__init__(day)
        self.rng = random.Random(day.options.seed + 3)
        self.waiting: list[PlannedOrder] = []

    def placed(self, order: PlannedOrder) -> None:
        if order.kind != "valid" or self.rng.random() >= CANCEL_RATE:
            return
        order.cancel = self.rng.choices(list(CANCEL_KINDS), weights=list(CANCEL_KINDS.values()))[0]
        if order.cancel == "before_export":
            self._cancel(order)
            return
        order.cancel_due = order.placed_at + timedelta(minutes=self.rng.uniform(*CANCEL_DELAY_MINUTES))
        self.waiting.append(order)

    def tick(self) -> None:
        """Cancel each waiting order whose moment has come and which the site shows exported; an order
        cancelled after pick is picked at Cin7 first."""
        still = []
        for order in self.waiting:
            assert order.cancel_due is not None
            sale = self.day.live_sale(order) if self.day.clock.now() >= order.cancel_due else None
            if sale is None or self.day.sfcc.order(order.order_no)["exportStatus"] != "exported":
                still.append(order)
                continue
            if order.cancel == "after_pick":
                self.day.cin7.authorise_pick(sale["ID"])
            self._cancel(order)
        self.waiting = still

    def _cancel(self, order: PlannedOrder) -> None:
        self.day.sfcc.cancel_order(order.order_no)
        order.cancelled_at = self.day.clock.now()

    def summary(self) -> dict[str, Any]:
        return judge_cancels(self.day)


# A pipeline's part of the day, by pipeline name. Shipments (Cin7 -> SFCC: ship sales at Cin7, judge
# shipping-status and c_ tracking at the site) and stock (Cin7 -> SFCC: move Cin7 stock, judge allocation
# and oversold units) each add their Phase here.
PHASES: dict[str, type[Phase]] = {"orders": OrdersPhase, "cancellation": CancellationPhase}


def run_day(options: Any, *, config: ClientConfig | None = None, after: Any = None) -> Any:
    """Drive one SFCC -> Cin7 Core day through the local wiring and return its DayResult."""
    from moto import mock_aws

    from sandbox.local import MOTO_CONFIG, LocalHopline
    from sandbox.scenario import DayResult
    from sandbox.simulators import registry

    started = time.perf_counter()
    rng = random.Random(options.seed)
    clock = VirtualClock(seed=options.seed)
    base = config or config_for_client(options.client)
    if base.pipelines.orders is None:
        raise ConfigError(f"{base.client}: a sandbox day needs an orders pipeline")
    knobs = registry.DayKnobs(fault_rate=options.fault_rate, seed=options.seed)
    with mock_aws(config=MOTO_CONFIG), registry.running(base, clock, knobs=knobs, rng=rng) as platforms:
        local = LocalHopline(platforms.config, clock, http_timeout=registry.SANDBOX_HTTP_TIMEOUT)
        local.start(platforms.secrets)
        day = Day(options, rng, clock, local, platforms)
        configured = list(local.config.pipelines.enabled())
        day.phases = [PHASES[name](day) for name in PHASES if name in configured]
        skus = [f"{s}-{c}-{z}" for s in STYLES for c in COLOURS for z in SIZES]
        for sku in skus:
            day.cin7.prepare_product(sku, name=sku.replace("-", " ").title())
        _place_orders(day, skus)
        day.advance(options.follow_up_hours * 3600)
        summary = summarise(day)
        summary["pipelines_without_a_day_phase"] = [name for name in configured if name not in PHASES]
        if after is not None:
            after(local)
    details = {"cancel_execution_wall_ms": summary.pop("cancel_execution_wall_ms", None)}
    return DayResult(summary=summary, wall_seconds=time.perf_counter() - started, details=details)


def _place_orders(day: Day, skus: list[str]) -> None:
    """The trading day: orders arriving at random (`day_hours` over `orders` apart on average), each one's
    kind, currency and shape drawn from the day's rng."""
    options, rng = day.options, day.rng
    kinds = list(KINDS)
    weights = [KINDS[kind][0] for kind in kinds]
    extra = [currency for currency in day.sales.customers_by_currency]
    currencies = ["GBP", *extra]  # the default customer is in the Cin7 tenant's base currency
    currency_weights = [0.5, *([0.5 / len(extra)] * len(extra))] if extra else [1.0]
    site_id = day.config.settings_for(Role.ORDER_SOURCE).site_id  # type: ignore[attr-defined]
    spacing = options.day_hours * 3600 / max(1, options.orders)
    for index in range(options.orders):
        day.advance(max(1.0, rng.expovariate(1 / spacing)))  # shoppers arrive at random, not on the poll's beat
        kind = rng.choices(kinds, weights=weights)[0]
        currency = rng.choices(currencies, weights=currency_weights)[0]
        now = day.clock.now()
        order_no = f"{10_000_001 + index:08d}"
        wire = sfcc_order(kind, rng, order_no, format_sfcc_datetime(now), currency, skus, site_id=site_id)
        day.sfcc.place_order(wire)
        planned = PlannedOrder(order_no, kind, KINDS[kind][1], now, currency, wire["taxation"])
        day.planned.append(planned)
        for phase in day.phases:
            phase.placed(planned)


# -- the judge -------------------------------------------------------------------------------------
def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def sale_problems(order: dict[str, Any], sale: dict[str, Any], shipping_product: str) -> tuple[list[str], list[str]]:
    """(totals that differ, other differences) between an SFCC order and the Cin7 sale made of it.

    Totals are Cin7's own: the order stage's Total and Tax as the simulator summed them, shipping the
    charges on the shipping product. Other: currency, tax inclusion, SKUs and quantities."""
    stage = sale.get("Order") or {}
    shipping = sum(
        (_money(c["Total"]) for c in stage.get("AdditionalCharges") or [] if c.get("Description") == shipping_product),
        Decimal(0),
    )
    totals = []
    for label, at_cin7, at_sfcc in (
        ("total", _money(stage.get("Total", 0)), _money(order["orderTotal"])),
        ("tax", _money(stage.get("Tax", 0)), _money(order["taxTotal"])),
        ("shipping", shipping, _money(order["shippingTotal"])),
    ):
        if at_cin7 != at_sfcc:
            totals.append(f"{label} {at_cin7} != {at_sfcc}")
    other = []
    if sale.get("CustomerCurrency") != order["currency"]:
        other.append(f"currency {sale.get('CustomerCurrency')} != {order['currency']}")
    inclusive = order["taxation"] == "gross"
    if (sale.get("TaxCalculation") == "Inclusive") != inclusive:
        other.append(f"tax calculation {sale.get('TaxCalculation')} for a {order['taxation']} order")
    wanted: Counter[str] = Counter()
    for item in order["productItems"]:
        wanted[item["productId"]] += int(item["quantity"])
    held: Counter[str] = Counter()
    for line in stage.get("Lines") or []:
        held[line["SKU"]] += int(_money(line["Quantity"]))
    if held != wanted:
        other.append(f"lines {dict(sorted(held.items()))} != {dict(sorted(wanted.items()))}")
    return totals, other


def judge_order(
    order: PlannedOrder,
    at_site: dict[str, Any],
    sales: list[dict[str, Any]],
    *,
    shipping_product: str,
    stage: str | None,
    open_reasons: set[str],
) -> tuple[str, str, list[str]]:
    """(verdict, where the order is, what differs) for one order, from the platforms' truth first.

    Where: posted, voided (after an accepted cancel), refused_after_pick (live, the refusal for
    operations), cancelled_before_export, quarantined, held, or missing / elsewhere. Verdicts:
    as_expected, lost, duplicated, totals_differ, unlike_source, bad_order_posted, wrong_outcome."""
    live = [sale for sale in sales if sale["Status"] != "VOIDED"]
    cancelled = order.cancelled_at is not None
    if order.expected != POSTED or (cancelled and order.cancel == "before_export"):
        if live:
            return "bad_order_posted", "posted", []
        if cancelled:
            return "as_expected", "cancelled_before_export", []
        if order.expected == HELD:
            return ("as_expected", HELD, []) if stage == HELD else ("wrong_outcome", stage or "nothing", [])
        if order.expected in open_reasons:
            return "as_expected", "quarantined", []
        return "wrong_outcome", ", ".join(sorted(open_reasons)) or stage or "nothing", []
    if not sales:
        return "lost", f"not at Cin7 (ledger: {stage or 'nothing'})", []
    if len(sales) > 1:
        return "duplicated", f"{len(sales)} sales", []
    totals, other = sale_problems(at_site, sales[0], shipping_product)
    where = "posted"
    if cancelled and order.cancel == "after_export":
        where = "voided"
        if live:
            return "wrong_outcome", "live at Cin7 after an accepted cancel", totals + other
    elif cancelled:  # after pick: the sale stays, the refusal is raised for operations
        where = "refused_after_pick"
        if not live:
            return "wrong_outcome", "voided after the warehouse picked it", totals + other
        if ReasonCode.CANCEL_TOO_LATE.value not in open_reasons:
            return "wrong_outcome", "refused cancel not raised for operations", totals + other
    elif not live:
        return "wrong_outcome", "voided without a cancel", totals + other
    if totals:
        return "totals_differ", where, totals + other
    if other:
        return "unlike_source", where, other
    return "as_expected", where, []


def expected_export_status(order: PlannedOrder) -> str:
    if order.cancel == "before_export" and order.cancelled_at is not None:
        return "ready"  # never posted, so never claimed
    return SITE_EXPORT.get(order.expected, "failed")


def _percentile(values: list[float], share: float) -> float | None:
    from sandbox.scenario import _percentile as percentile

    return percentile(values, share)


def judge_orders(day: Day) -> dict[str, Any]:
    """The orders block: every order accounted for, judged at Cin7 and at the site."""
    rt = day.local.runtime
    source = day.config.settings_for(Role.ORDER_SOURCE).type
    ledger = {entry.order_key: entry for entry in rt.ledger.scan()}
    open_reasons: dict[str, set[str]] = {}
    for e in rt.exceptions.list(status=None):
        if e.status == "open":
            open_reasons.setdefault(e.business_key, set()).update({e.reason.value, *e.reasons})
    by_reference = day.cin7.sales_by_reference()
    verdicts: Counter[str] = Counter()
    where: Counter[str] = Counter()
    export_wrong: list[dict[str, str]] = []
    export_status: Counter[str] = Counter()
    wrong: list[dict[str, Any]] = []
    latencies: list[float] = []
    relisted_orders, relistings = 0, 0
    totals_differ = 0
    duplicate_sales = 0
    for order in day.planned:
        key = f"{source}#{order.order_no}"
        entry = ledger.get(key)
        at_site = day.sfcc.order(order.order_no)
        sales = by_reference.get(day.reference(order), [])
        duplicate_sales += max(0, len(sales) - 1)
        verdict, found, problems = judge_order(
            order,
            at_site,
            sales,
            shipping_product=day.sales.shipping_product,
            stage=entry.stage.value if entry else None,
            open_reasons=open_reasons.get(key, set()),
        )
        verdicts[verdict] += 1
        where[found if verdict == "as_expected" else "not_as_expected"] += 1
        for sale in sales:
            totals_differ += bool(sale_problems(at_site, sale, day.sales.shipping_product)[0])
        export_status[at_site["exportStatus"]] += 1
        if at_site["exportStatus"] != expected_export_status(order):
            export_wrong.append(
                {"order": order.order_no, "want": expected_export_status(order), "got": at_site["exportStatus"]}
            )
        if verdict != "as_expected":
            wrong.append(
                {
                    "order": order.order_no,
                    "kind": order.kind,
                    "cancel": order.cancel or "",
                    "verdict": verdict,
                    "got": found,
                    "problems": problems[:3],
                }
            )
        if sales:
            authorised = day.cin7.authorised_at(sales[0]["ID"])
            if authorised is not None:
                latencies.append((authorised - order.placed_at).total_seconds())
                # The first listing after the sale is the one that claims it; any later one is a repeat.
                again = [moment for moment in day.sfcc.listed_at(order.order_no) if moment > authorised][1:]
                relisted_orders += bool(again)
                relistings += len(again)
    return {
        "orders_placed": len(day.planned),
        "orders_by_kind": dict(sorted(Counter(order.kind for order in day.planned).items())),
        "orders_by_currency": dict(sorted(Counter(order.currency for order in day.planned).items())),
        "orders_by_taxation": dict(sorted(Counter(order.taxation for order in day.planned).items())),
        # Where each order is, judged at the platforms (adds up to orders_placed).
        "accounted_for": dict(sorted(where.items())),
        "verdicts": dict(sorted(verdicts.items())),
        "as_expected": verdicts["as_expected"],
        "lost": verdicts["lost"],
        "duplicate_sales": duplicate_sales,
        "sales_totals_differ": totals_differ,
        "sales_unlike_source": verdicts["unlike_source"],
        "bad_orders_posted": verdicts["bad_order_posted"],
        "wrong_outcome": verdicts["wrong_outcome"],
        "cin7_sales": sum(len(sales) for ref, sales in by_reference.items() if ref.startswith(f"{day.prefix}-")),
        "cin7_sale_headers_abandoned": sum(len(sales) for ref, sales in by_reference.items() if "~" in ref),
        "export_status_at_site": dict(sorted(export_status.items())),
        "export_status_wrong": len(export_wrong),
        "export_status_wrong_orders": export_wrong[:10],
        # Duplicates the pipeline absorbed: claims the site refused, and listings of an order after its sale.
        "export_claims_refused": day.sfcc.export_status_refused,
        "orders_listed_again_after_their_claim": relisted_orders,
        "listings_again_after_the_claim": relistings,
        "orders_posted": sum(bool(by_reference.get(day.reference(order))) for order in day.planned),
        # Virtual seconds from the order placed at the site to its Cin7 order stage authorised.
        "placed_to_sale_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
        "unexpected": wrong[:20],
    }


def judge_cancels(day: Day) -> dict[str, Any]:
    """Cancellations: what the executions decided, and how long from the site's cancel to the decision."""
    import json

    executions = day.local.executions()
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    for execution in executions:
        output = json.loads(execution.get("output") or "null") or {}
        record = output.get("record") or {}
        if record:
            outcomes[record["outcome"]] += 1
            requested = datetime.fromisoformat(output["request"]["requested_at"])
            latencies.append((datetime.fromisoformat(record["decided_at"]) - requested).total_seconds())
    wall_ms = [(e["stopDate"] - e["startDate"]).total_seconds() * 1000 for e in executions if e.get("stopDate")]
    planned = [order for order in day.planned if order.cancel]
    return {
        "cancels_planned": dict(sorted(Counter(str(order.cancel) for order in planned).items())),
        "cancels_made": sum(order.cancelled_at is not None for order in planned),
        # An order that was never exported in time is not cancelled after export (judged as uncancelled).
        "cancels_never_due": sum(order.cancelled_at is None for order in planned),
        "cancels_requested": len(executions),
        "cancel_outcomes": dict(sorted(outcomes.items())),
        "cancel_executions_failed": sum(1 for e in executions if e["status"] != "SUCCEEDED"),
        "cancel_decision_latency_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
        "cancel_execution_wall_ms": {"p50": _percentile(wall_ms, 0.5), "p95": _percentile(wall_ms, 0.95)},
    }


def summarise(day: Day) -> dict[str, Any]:
    """The day judged from what the platforms hold, a block per phase, then the calls it took."""
    from sandbox.budget import cin7_budget
    from sandbox.scenario import _monitor_summary, _order_outcomes
    from shared.steps.monitors import MONITOR_FLOWS

    local, options = day.local, day.options
    blocks: dict[str, Any] = {}
    for phase in day.phases:
        blocks.update(phase.summary())
    every_exception = local.runtime.exceptions.list(status=None)
    exceptions = [e for e in every_exception if e.flow not in MONITOR_FLOWS]
    ledger = {entry.order_key: entry for entry in local.runtime.ledger.scan()}
    orders, quarantined, other_exceptions = _order_outcomes(ledger, exceptions)
    sfcc_name = local.config.platform_for(Role.ORDER_SOURCE)
    cin7_name = local.config.platform_for(Role.ORDER_TARGET)
    posted = blocks.get("orders_posted", 0)  # orders with a sale at Cin7, voided ones included
    sfcc_calls, cin7_calls = day.sfcc.calls(), day.cin7.calls()
    dlq = local.dlq_messages()
    return {
        "scenario": SCENARIO,
        "client": local.config.client,
        "seed": options.seed,
        "fault_rate": options.fault_rate,
        "duplicate_rate": options.duplicate_rate,
        **blocks,
        # The ledger's count: every order received once, by stage (adds up to received).
        "orders": orders,
        "quarantined": quarantined,
        "other_exceptions": other_exceptions,
        "in_dlq": sum(len(bodies) for bodies in dlq.values()),
        "in_dlq_by_queue": {name: len(bodies) for name, bodies in dlq.items() if bodies},
        "retries": {
            "http": local.call_stats(sfcc_name).retries + local.call_stats(cin7_name).retries,
            "sqs_redeliveries": sum(local.record_failures.values()),
        },
        "faults_injected": {
            local.config.platforms[name].type: hooks.faults_injected
            for name, hooks in day.platforms.hooks_by_instance.items()
        },
        "schedule_runs_failed": dict(local.schedule_failures),
        "sfcc_tokens_issued": day.sfcc.simulator.tokens_issued,
        "api_calls": {
            "sfcc": sfcc_calls,
            "cin7_core": cin7_calls,
            "sfcc_per_posted_order": round(sfcc_calls / posted, 3) if posted else None,
            "cin7_core_per_posted_order": round(cin7_calls / posted, 3) if posted else None,
        },
        # Cin7's 60 calls a minute: per flow and reason, and the orders an hour one key carries (3600 / per order).
        "cin7_budget": cin7_budget(day.cin7.simulator, posted),
        "monitor": _monitor_summary(every_exception),
    }


def failures(summary: dict[str, Any]) -> list[str]:
    """Why the day is not healthy (empty when it is)."""
    unaccounted = summary["orders_placed"] - summary["as_expected"]
    checks = [
        ("lost", summary["lost"]),
        ("duplicate Cin7 sales (per ExternalID)", summary["duplicate_sales"]),
        ("Cin7 sales whose totals differ from SFCC", summary["sales_totals_differ"]),
        ("Cin7 sales unlike the SFCC order (currency, tax, lines)", summary["sales_unlike_source"]),
        ("orders at Cin7 that should not be", summary["bad_orders_posted"]),
        ("wrong outcomes", summary["wrong_outcome"]),
        ("orders not where they should be", unaccounted),
        ("SFCC export status not as expected", summary["export_status_wrong"]),
        ("messages in a DLQ", summary["in_dlq"]),
        ("failed cancellation executions", summary.get("cancel_executions_failed", 0)),
    ]
    return [f"{label}: {count}" for label, count in checks if count]


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The CLI's table of the day."""
    budget = summary["cin7_budget"]
    latency = summary["placed_to_sale_seconds"]
    accounted = ", ".join(f"{name} {count}" for name, count in summary["accounted_for"].items())
    rows: list[tuple[str, Any]] = [
        ("Orders placed at SFCC", summary["orders_placed"]),
        ("  by currency", summary["orders_by_currency"]),
        ("  by taxation", summary["orders_by_taxation"]),
        ("Where they are (judged at Cin7 and SFCC)", accounted),
        ("Lost / duplicate Cin7 sales", f"{summary['lost']} / {summary['duplicate_sales']}"),
        ("Cin7 sales whose totals differ from SFCC (any amount)", summary["sales_totals_differ"]),
        ("Cin7 sales unlike the order (currency, tax, lines)", summary["sales_unlike_source"]),
        ("Wrong outcome / bad orders posted", f"{summary['wrong_outcome']} / {summary['bad_orders_posted']}"),
        ("SFCC export status at the end", summary["export_status_at_site"]),
        ("  not as expected", summary["export_status_wrong"]),
        (
            "Export claims refused / orders listed again after their sale",
            (f"{summary['export_claims_refused']} / {summary['orders_listed_again_after_their_claim']}"),
        ),
        ("Placed -> Cin7 sale p50 / p95 (virtual s)", f"{latency['p50']} / {latency['p95']}"),
        (
            "Cin7 calls per posted order / orders per hour on one key",
            f"{budget['per_released_order']} / {budget['orders_per_hour_one_key']}",
        ),
        ("SFCC calls per posted order", summary["api_calls"]["sfcc_per_posted_order"]),
        (
            "Retries (HTTP / SQS redeliveries)",
            f"{summary['retries']['http']} / {summary['retries']['sqs_redeliveries']}",
        ),
        ("Items in DLQs", summary["in_dlq"]),
    ]
    if "cancels_requested" in summary:
        cancel_latency = summary["cancel_decision_latency_seconds"]
        rows += [
            ("Cancels at the site (planned, by moment)", summary["cancels_planned"]),
            ("Cancel outcomes", summary["cancel_outcomes"]),
            ("Cancel to decision p50 / p95 (virtual s)", f"{cancel_latency['p50']} / {cancel_latency['p95']}"),
        ]
    if summary["pipelines_without_a_day_phase"]:
        rows.append(("Pipelines configured with no day phase yet", summary["pipelines_without_a_day_phase"]))
    return rows
