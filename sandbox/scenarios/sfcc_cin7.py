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

The day is built from one phase per configured pipeline (PHASES): orders (with a load-shedding window),
cancellation, shipments (Cin7 boxes judged at the site's shipping-status and c_ attributes), stock (SFCC's
ATS against Cin7's Available less the buffer at every check point) and catalogue (new SKUs, fields the site
owns, price books). A pipeline configured without a phase is named in the summary
(`pipelines_without_a_day_phase`) instead of being judged by nothing.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any, ClassVar, cast

from shared.clock import VirtualClock
from shared.config import ClientConfig, config_for_client
from shared.connectors.sfcc.mapping import format_sfcc_datetime
from shared.connectors.spec import Role
from shared.errors import ConfigError
from shared.models import ReasonCode
from shared.models.currency import minor_unit_exponent, quantize

SCENARIO = "sfcc_cin7"
MONITOR_HOPS = ("monitor_orders",)  # its Cin7 reads are the monitor's, not the orders flow's
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
# A share of the trading day (from, to) during which the site sheds load: every answer carries
# sfdc_load LOAD_IN_WINDOW (THROTTLE from 90). `Options.sfcc_load_window` overrides it; None: no window.
LOAD_WINDOW: tuple[float, float] | None = (0.05, 0.25)
LOAD_IN_WINDOW = 95
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
        self.started_at = clock.now()
        self.skus: list[str] = []  # what the site sells: the range, and new SKUs once they are sellable
        self.ends_at: datetime | None = None  # known once the last order is placed
        self.stock_moved: set[str] = set()  # SKUs whose Cin7 stock a phase moved (the stock webhook tells)

    def reference(self, order: PlannedOrder) -> str:
        return f"{self.prefix}-{order.order_no}"

    @property
    def release_poll_hop(self) -> str:
        """The hop the orders pipeline's poll schedule runs (the release poll, for an SFCC source)."""
        from shared import topology

        return next(
            hop.name
            for hop in self.local.deployed.hops
            if isinstance(hop.trigger, topology.ScheduleTrigger)
            and hop.trigger.expression_field == "pipelines.orders.poll_schedule"
        )

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

    def start(self) -> None:
        """Before the first order: what the platforms hold when the day opens."""

    def placed(self, order: PlannedOrder) -> None:
        """An order was just placed at the site."""

    def tick(self) -> None:
        """The clock moved on: act where a planned moment has come."""

    def summary(self) -> dict[str, Any]:
        return {}


class OrdersPhase(Phase):
    """Orders into Cin7: a share of the valid ones have their export-status claim refused (listed again),
    and for a window of the day the site sheds load (every answer says `sfdc_load_status` THROTTLE)."""

    pipeline = "orders"

    def __init__(self, day: Day):
        super().__init__(day)
        self.rng = random.Random(day.options.seed + 5)  # apart from the orders' draws
        self.attempts = day.config.platforms[day.config.platform_for(Role.ORDER_SOURCE)].retry.max_attempts  # type: ignore[attr-defined]
        window = getattr(day.options, "sfcc_load_window", LOAD_WINDOW)
        span = day.options.day_hours * 3600
        self.window: tuple[datetime, datetime] | None = (
            (day.started_at + timedelta(seconds=window[0] * span), day.started_at + timedelta(seconds=window[1] * span))
            if window
            else None
        )
        self.shedding = False

    def placed(self, order: PlannedOrder) -> None:
        if order.expected == POSTED and self.rng.random() < self.day.options.duplicate_rate:
            # Every attempt of one or two claims (each retried in-call) answers 503.
            order.claim_refusals = self.attempts * self.rng.choice((1, 2))
            self.day.sfcc.refuse_export_status(order.order_no, order.claim_refusals)

    def tick(self) -> None:
        if self.window is None:
            return
        inside = self.window[0] <= self.day.clock.now() < self.window[1]
        if inside != self.shedding:
            self.day.sfcc.set_load(LOAD_IN_WINDOW if inside else None)
            self.shedding = inside

    def summary(self) -> dict[str, Any]:
        return {**judge_orders(self.day), "sfcc_load_shedding": self._load_summary()}

    def _load_summary(self) -> dict[str, Any]:
        """Release polls per hour while the site answered THROTTLE and outside that window."""
        if self.window is None:
            return {"window": None}
        start, end = self.window
        listings = self.day.sfcc.release_listings()
        last = max([self.day.clock.now(), *listings])
        inside = sum(start <= moment < end for moment in listings)
        window_hours = (min(end, last) - start).total_seconds() / 3600
        outside_hours = (last - self.day.started_at).total_seconds() / 3600 - window_hours
        gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(listings)]
        return {
            "window": [format_sfcc_datetime(start), format_sfcc_datetime(end)],
            # A poll held up behind other SFCC work shows here (the schedule is one minute).
            "release_poll_longest_gap_seconds": round(max(gaps), 1) if gaps else None,
            "release_poll_longest_late_in_window_seconds": self._longest_late(listings),
            # Background work that gave way to order work (re-sent for later, or a scheduled run skipped).
            "background_records_left_for_later": int(self.day.local.runtime.tally["records_left_for_later"]),
            "background_runs_stepped_aside": int(self.day.local.runtime.tally["runs_stepped_aside"]),
            "load": LOAD_IN_WINDOW,
            "release_polls_in_window": inside,
            "release_polls_outside": len(listings) - inside,
            "release_polls_per_hour_in_window": round(inside / window_hours, 1) if window_hours > 0 else None,
            "release_polls_per_hour_outside": (
                round((len(listings) - inside) / outside_hours, 1) if outside_hours > 0 else None
            ),
        }

    def _longest_late(self, listings: list[datetime]) -> float | None:
        """In the window: from when the release poll was due to when its listing reached the site, at most.

        What other work cost it: waiting for a drain of queued work to end, then for the hold left by the
        last SFCC call (one throttle spacing while the site sheds load)."""
        assert self.window is not None
        start, end = (moment.timestamp() for moment in self.window)
        stamps = sorted(moment.timestamp() for moment in listings)
        late = []
        for due, ran in self.day.schedules.runs.get(self.day.release_poll_hop, []):
            listed = next((stamp for stamp in stamps if stamp >= ran), None)
            if listed is not None and start <= ran < end:
                late.append(listed - due)
        return round(max(late), 1) if late else None


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


# -- shipments: Cin7 fulfilment back to the site -----------------------------------------------------
SHIP_AFTER_MINUTES = (3.0, 15.0)  # from the sale authorised at Cin7 to its (first) box shipped
SECOND_BOX_MINUTES = (3.0, 10.0)  # from the first box to the second of a split sale
SPLIT_RATE = 0.4  # sales of two units or more shipped in two boxes
SHIP_CUTOFF_MINUTES = 10.0  # nothing ships this close to the end: the poll (5 min) and its write-back need the time


@dataclass
class PlannedShipment:
    order: PlannedOrder
    sale_id: str
    boxes: list[dict[str, int]]  # units per box, in shipping order
    due: datetime
    shipped: list[tuple[str, dict[str, int]]]  # (tracking, units) of the boxes shipped so far


class ShipmentsPhase(Phase):
    """Cin7's warehouse ships the sales posted during the day (some in two boxes); the shipment poll brings
    each box back to the site. Judged at the site: shipping-status, the c_ tracking attributes, status
    completed once every line shipped, each box applied once."""

    pipeline = "shipments"

    def __init__(self, day: Day):
        super().__init__(day)
        self.rng = random.Random(day.options.seed + 11)
        self.seen: set[str] = set()
        self.plans: list[PlannedShipment] = []
        self.boxes_shipped = 0
        tracking = day.config.settings_for(Role.SHIPMENT_TARGET).tracking  # type: ignore[attr-defined]
        self.attributes = (tracking.tracking_numbers, tracking.carrier, tracking.shipments)

    def tick(self) -> None:
        now = self.day.clock.now()
        authorised = self.day.cin7.authorised()
        for order in self.day.planned:
            if order.order_no in self.seen or order.expected != POSTED or order.cancel is not None:
                continue  # a cancelled order is the cancellation phase's (a picked one stays unshipped)
            sale = self.day.live_sale(order)
            if sale is None:
                continue
            self.seen.add(order.order_no)
            units: dict[str, int] = {}
            for line in sale["Order"]["Lines"]:
                units[line["SKU"]] = units.get(line["SKU"], 0) + int(_money(line["Quantity"]))
            at = authorised.get(sale["ID"], now)
            due = at + timedelta(minutes=self.rng.uniform(*SHIP_AFTER_MINUTES))
            self.plans.append(PlannedShipment(order, sale["ID"], self._boxes(units), due, []))
        cutoff = self.day.ends_at - timedelta(minutes=SHIP_CUTOFF_MINUTES) if self.day.ends_at else None
        for plan in self.plans:
            if len(plan.shipped) == len(plan.boxes) or now < plan.due or (cutoff is not None and now > cutoff):
                continue
            units = plan.boxes[len(plan.shipped)]
            self.boxes_shipped += 1
            tracking = f"JD{self.boxes_shipped:010d}GB"
            self.day.cin7.fulfil(
                plan.sale_id, units, tracking=tracking, carrier="Royal Mail", box=f"Box {len(plan.shipped) + 1}"
            )
            plan.shipped.append((tracking, units))
            plan.due = now + timedelta(minutes=self.rng.uniform(*SECOND_BOX_MINUTES))

    def _boxes(self, units: dict[str, int]) -> list[dict[str, int]]:
        """One box, or two: whole SKUs split between them, or one SKU's units when it is the only one."""
        if sum(units.values()) < 2 or self.rng.random() >= SPLIT_RATE:
            return [dict(units)]
        skus = sorted(units)
        if len(skus) > 1:
            cut = self.rng.randint(1, len(skus) - 1)
            return [{sku: units[sku] for sku in skus[:cut]}, {sku: units[sku] for sku in skus[cut:]}]
        sku, quantity = skus[0], units[skus[0]]
        first = self.rng.randint(1, quantity - 1)
        return [{sku: first}, {sku: quantity - first}]

    def summary(self) -> dict[str, Any]:
        """Judged at the site, from what Cin7 shipped: every box's tracking there once, the units recorded
        equal to the units shipped, shipping-status and status as the boxes say."""
        tracking_attr, carrier_attr, record_attr = self.attributes
        verdicts: Counter[str] = Counter()
        wrong: list[dict[str, Any]] = []
        boxes = lost = twice = 0
        for plan in self.plans:
            if not plan.shipped:
                continue
            at_site = self.day.sfcc.order(plan.order.order_no)
            shipped: Counter[str] = Counter()
            for _, units in plan.shipped:
                shipped.update(units)
            ordered: Counter[str] = Counter()
            for box in plan.boxes:
                ordered.update(box)
            whole = shipped == ordered
            numbers = [n for n in str(at_site.get(tracking_attr) or "").split(",") if n]
            record = json.loads(at_site.get(record_attr) or '{"parcels": [], "shipped": {}}')
            recorded = Counter({sku: int(Decimal(q)) for sku, q in record.get("shipped", {}).items()})
            boxes += len(plan.shipped)
            missing = [tracking for tracking, _ in plan.shipped if tracking not in numbers]
            lost += len(missing)
            repeated = len(numbers) - len(set(numbers)) + len(record["parcels"]) - len(set(record["parcels"]))
            twice += repeated + sum(max(0, recorded[sku] - shipped[sku]) for sku in recorded)
            problems = []
            if missing:
                problems.append(f"tracking {missing} not at the site")
            if repeated or recorded != shipped:
                problems.append(f"units recorded {dict(recorded)} != shipped {dict(shipped)}")
            if len(record["parcels"]) != len(plan.shipped):
                problems.append(f"{len(record['parcels'])} parcels recorded for {len(plan.shipped)} boxes")
            want_status = "shipped" if whole else "part_shipped"
            if at_site.get("shippingStatus") != want_status:
                problems.append(f"shippingStatus {at_site.get('shippingStatus')} != {want_status}")
            if (at_site.get("status") == "completed") != whole:
                problems.append(f"status {at_site.get('status')} with {'all' if whole else 'part'} shipped")
            if not at_site.get(carrier_attr):
                problems.append("no carrier")
            verdict = "as_expected" if not problems else "wrong"
            verdicts[verdict] += 1
            if problems:
                wrong.append({"order": plan.order.order_no, "problems": problems})
        shipped_plans = [plan for plan in self.plans if plan.shipped]
        return {
            "sales_shipped": len(shipped_plans),
            "sales_shipped_in_full": sum(len(p.shipped) == len(p.boxes) for p in shipped_plans),
            "sales_shipped_in_two_boxes": sum(len(p.shipped) == 2 for p in shipped_plans),
            "boxes_shipped_at_cin7": boxes,
            "shipments_lost": lost,
            "shipments_applied_twice": twice,
            "shipment_orders_wrong": verdicts["wrong"],
            "shipment_orders_as_expected": verdicts["as_expected"],
            "shipments_unexpected": wrong[:10],
        }


# -- stock: Cin7 Available to SFCC allocations --------------------------------------------------------
STOCK_UNITS = (15, 90)  # each SKU's on hand at the mapped warehouse when the day opens
OTHER_LOCATION = "Retail Store"  # Cin7 stock at a location the pipeline does not map: never sold online
STOCK_EVENT_RATE = 0.8  # stock moves Cin7 posts a webhook for; the rest wait for the schedule
STOCK_INCIDENT_MINUTES = 8.0  # a receipt, an adjustment or a shop sale this often, on average
STOCK_INCIDENTS = ("receipt", "adjustment", "shop_sale")


class StockPhase(Phase):
    """Cin7 stock moves through the day (sales allocate, voids release, receipts, adjustments, shop sales at
    an unmapped location), told by Cin7's stock webhook most times and read by the schedule anyway. At each
    check point, SFCC's ATS (allocation less the orders placed since its reset_date) must not exceed
    Cin7's Available less the buffer: what it does is oversold."""

    pipeline = "stock"

    def __init__(self, day: Day):
        super().__init__(day)
        self.rng = random.Random(day.options.seed + 7)
        settings = day.config.stock
        [(self.location, self.list_id)] = list(settings.locations.items())[:1]
        self.buffer = settings.buffer
        self.authorised_seen: set[str] = set()
        self.voids_seen: set[str] = set()
        self.incidents: Counter[str] = Counter()
        self.next_incident = day.clock.now()
        self.events_sent = self.events_missed = 0
        self.checks = self.breaches = self.oversold_units = 0
        self.oversold: list[dict[str, Any]] = []
        self.secret = day.platforms.webhook_secret(Role.STOCK_MASTER)
        self.untold: dict[str, int] = {}  # SKU the day moved with no webhook -> stock reads run by then

    def start(self) -> None:
        for sku in self.day.skus:
            self.day.cin7.set_stock(sku, self.location, self.rng.randint(*STOCK_UNITS))
            self.day.cin7.set_stock(sku, OTHER_LOCATION, self.rng.randint(0, 12))
        self.next_incident = self.day.clock.now() + timedelta(minutes=self.rng.expovariate(1 / STOCK_INCIDENT_MINUTES))

    def cap(self, sku: str) -> int:
        """What SFCC may sell by Cin7's Available now: less the buffer (units, then percent rounded up)."""
        available = int(self.day.cin7.available(sku, self.location))
        held = self.buffer.units + math.ceil(max(0, available) * Decimal(str(self.buffer.percent)) / 100)
        return max(0, available - held)

    def check(self) -> None:
        """A check point: every SKU SFCC has a record for, against Cin7's Available now. A SKU the day moved
        in Cin7 without a webhook is left out until a stock read has run since: nobody told Hopline, and
        the buffer is what covers that lag. Sales are never left out: Hopline posted them itself."""
        self.checks += 1
        reads = int(self.day.local.runtime.tally["stock_reads"])
        self.untold = {sku: at for sku, at in self.untold.items() if at == reads}
        for sku, ats in sorted(self.day.sfcc.available_to_sell(self.list_id).items()):
            if sku in self.untold:
                continue
            over = ats - self.cap(sku)
            if over > 0:
                self.breaches += 1
                self.oversold_units += over
                if len(self.oversold) < 10:
                    self.oversold.append({"sku": sku, "at": format_sfcc_datetime(self.day.clock.now()), "over": over})

    def tick(self) -> None:
        self.check()
        moved, self.day.stock_moved = self.day.stock_moved, set()
        incidents: set[str] = set(moved)
        authorised = self.day.cin7.authorised()
        for sale_id in sorted(set(authorised) - self.authorised_seen):
            self.authorised_seen.add(sale_id)
            moved.update(line["SKU"] for line in self.day.cin7.order(sale_id)["Order"]["Lines"])
        for order in self.day.planned:
            if order.cancel == "after_export" and order.cancelled_at and order.order_no not in self.voids_seen:
                sales = self.day.cin7.simulator.sales_by_external_id(self.day.reference(order))
                if sales and all(sale["Status"] == "VOIDED" for sale in sales):
                    self.voids_seen.add(order.order_no)
                    moved.update(line["SKU"] for sale in sales for line in sale["Order"]["Lines"])
        while self.day.clock.now() >= self.next_incident:
            incidents.add(self._incident())
            self.next_incident += timedelta(minutes=self.rng.expovariate(1 / STOCK_INCIDENT_MINUTES))
        moved |= incidents
        if moved:
            if self.rng.random() < STOCK_EVENT_RATE:
                self.send_event(sorted(moved))
                self.day.local.drain()
            else:
                self.events_missed += 1
                reads = int(self.day.local.runtime.tally["stock_reads"])
                self.untold.update(dict.fromkeys(incidents, reads))

    def _incident(self) -> str:
        kind = STOCK_INCIDENTS[sum(self.incidents.values()) % len(STOCK_INCIDENTS)]
        self.incidents[kind] += 1
        sku = self.rng.choice(self.day.skus)
        if kind == "receipt":
            self.day.cin7.move_stock(sku, self.location, self.rng.randint(10, 40))
        elif kind == "adjustment":  # found damaged in a stock count: written off
            self.day.cin7.move_stock(sku, self.location, -self.rng.randint(1, 4))
        else:
            self.day.cin7.move_stock(sku, OTHER_LOCATION, -1)
        return sku

    def send_event(self, skus: list[str]) -> None:
        """What Cin7 posts on Stock/AvailableStockLevelChanged: a bare array of availability rows."""
        header = self.day.config.settings_for(Role.STOCK_MASTER).webhook_header  # type: ignore[attr-defined]
        status, _ = self.day.local.call_api(
            "POST",
            self.day.local.webhook_path(Role.STOCK_MASTER, "stock"),
            headers={header: self.secret, "Content-Type": "application/json"},
            body=json.dumps(self.day.cin7.stock_event(skus), default=str),
        )
        self.events_sent += 1
        if status >= 300:
            raise RuntimeError(f"the stock webhook answered {status}")

    def summary(self) -> dict[str, Any]:
        self.check()  # the end of the day is a check point too
        tally = self.day.local.runtime.tally
        changed = int(tally["stock_pushed"])
        budget = self.day.cin7.simulator.calls
        cin7_stock = sum(count for (flow, _), count in budget.items() if flow in ("read_stock", "push_stock"))
        sfcc_stock = sum(
            count for route, count in self.day.sfcc.requests.items() if "product_inventory_records" in route
        )
        return {
            "stock_incidents": dict(sorted(self.incidents.items())),
            "stock_events_sent": self.events_sent,
            "stock_events_missed": self.events_missed,
            "stock_reads": int(tally["stock_reads"]),
            "stock_deltas_pushed": changed,
            "stock_pushes_skipped_unchanged": int(tally["stock_unchanged"]),
            "stock_increases_awaiting_confirmation": int(tally["stock_awaiting_confirmation"]),
            "stock_push_rejected": int(tally["stock_rejected"]),
            "stock_check_points": self.checks,
            "oversold_breaches": self.breaches,
            "oversold_units": self.oversold_units,
            "oversold_examples": self.oversold,
            "stock_cin7_calls": cin7_stock,
            "stock_sfcc_calls": sfcc_stock,
            "cin7_calls_per_changed_sku": round(cin7_stock / changed, 3) if changed else None,
            "sfcc_calls_per_changed_sku": round(sfcc_stock / changed, 3) if changed else None,
        }


# -- catalogue and prices: Cin7 products to SFCC ------------------------------------------------------
NEW_SKUS = ("DROP-TEE-RED-M", "DROP-CAP-RED-L")  # created in Cin7 during the day
NEW_SKU_AT = (0.15, 0.3)  # shares of the trading day at which each is created
NEW_SKU_UNITS = 40  # received with it
OWNED_EDIT_AT = 0.7  # merchandising edits SFCC-owned fields; Cin7 changes them and one of its own
PRICE_CHANGES_AT = (0.6, 0.9)  # Cin7 price tiers change for a few SKUs
PRICE_CHANGES = 3  # (SKU, tier) changes at each moment


class CataloguePhase(Phase):
    """Cin7 products into the site: new SKUs created in Cin7 during the day (SFCC products only after Cin7
    has them, created offline, sellable once the stock flow writes them), fields the site owns edited there
    mid-day (never overwritten), and price tier changes (the book of that tier and currency, changes only)."""

    pipeline = "catalogue"

    def __init__(self, day: Day):
        super().__init__(day)
        self.rng = random.Random(day.options.seed + 13)
        settings = day.config.settings_for(Role.CATALOGUE_TARGET)
        self.attributes: dict[str, str] = dict(settings.products.attributes)  # type: ignore[attr-defined]
        self.books = [(book.tier, book.currency, book.price_book_id) for book in settings.price_books]  # type: ignore[attr-defined]
        owners = day.config.catalogue.field_owners
        self.site_owned = sorted(field for field, owner in owners.items() if owner != "source")
        self.cin7_owned = sorted(field for field, owner in owners.items() if owner == "source")
        span = day.options.day_hours * 3600
        self.moments: list[tuple[datetime, str, int]] = sorted(
            [(day.started_at + timedelta(seconds=at * span), "new_sku", i) for i, at in enumerate(NEW_SKU_AT)]
            + [(day.started_at + timedelta(seconds=OWNED_EDIT_AT * span), "owned_edit", 0)]
            + [(day.started_at + timedelta(seconds=at * span), "prices", i) for i, at in enumerate(PRICE_CHANGES_AT)]
        )
        self.created_at: dict[str, datetime] = {}  # new SKU -> when Cin7 created it
        self.edits: dict[str, dict[str, Any]] = {}  # SKU -> SFCC attribute -> what merchandising wrote
        self.cin7_edit: tuple[str, Decimal] | None = None  # (SKU, weight) Cin7 changed at the same time
        self.price_changes = 0
        self.changes: Counter[tuple[str, str]] = Counter()  # (price book, SKU) -> tier changes made in Cin7
        self.location, self.list_id = next(iter(day.config.stock.locations.items()))
        self.sellable_at: dict[str, datetime] = {}  # new SKU -> when shoppers could first buy it

    def _tiers(self, pence: int) -> dict[str, str]:
        """A product's Cin7 price tier columns: each configured tier in its book's currency."""
        columns = {}
        for tier, currency, book in self.books:
            amount = Decimal(_minor_price(pence, currency)).scaleb(-minor_unit_exponent(currency))
            if "sale" in book:  # a sale book's tier: a fifth off, at Cin7's four decimals
                amount = (amount * Decimal("0.8")).quantize(Decimal("0.0001"))
            columns[f"PriceTier{tier.removeprefix('Tier ')}"] = str(amount)
        return columns

    def start(self) -> None:
        for sku in self.day.skus:
            self.day.cin7.update_product(sku, **self._tiers(self.rng.choice(PRICES_PENCE)))
            name = sku.replace("-", " ").title()
            self.day.sfcc.prepare_product(sku, {"name": {"default": name}, "online_flag": True})

    def tick(self) -> None:
        now = self.day.clock.now()
        while self.moments and self.moments[0][0] <= now:
            _, kind, index = self.moments.pop(0)
            if kind == "new_sku":
                self._new_sku(NEW_SKUS[index % len(NEW_SKUS)])
            elif kind == "owned_edit":
                self._owned_edit()
            else:
                self._price_change()
        # A new SKU joins what shoppers can buy once the site would sell it (its product and an allocation).
        if not any(sku not in self.day.skus for sku in self.created_at):
            return
        ats = self.day.sfcc.available_to_sell(self.list_id)
        for sku in self.created_at:
            if sku not in self.day.skus and ats.get(sku, 0) > 0 and self.day.sfcc.product_document(sku):
                self.day.skus.append(sku)
                self.sellable_at[sku] = now

    def _new_sku(self, sku: str) -> None:
        self.day.cin7.create_product(sku, sku.replace("-", " ").title(), barcode="5012345678900")
        self.day.cin7.update_product(sku, **self._tiers(2400))
        self.created_at[sku] = self.day.clock.now()
        self.day.cin7.move_stock(sku, self.location, NEW_SKU_UNITS)
        self.day.stock_moved.add(sku)

    def _owned_edit(self) -> None:
        sku = self.rng.choice(self.day.skus)
        edits = {}
        for field in self.site_owned:
            attribute = self.attributes.get(field)
            if attribute is None:
                continue
            value = f"Merchandised {field.replace('_', ' ')} of {sku}"
            edits[attribute] = {"default": value} if field == "name" else value
        self.day.sfcc.edit_product(sku, **edits)
        self.edits[sku] = edits
        weight = Decimal(self.rng.randint(150, 900)) / 1000
        # Cin7 changes the fields the site owns as well, and one it owns itself: the sync carries that one only.
        self.day.cin7.update_product(
            sku, Name=f"Cin7 name of {sku}", ShortDescription=f"Cin7 customs text of {sku}", Weight=str(weight)
        )
        self.cin7_edit = (sku, weight)

    def _price_change(self) -> None:
        for _ in range(PRICE_CHANGES):
            sku = self.rng.choice([sku for sku in self.day.skus if sku not in self.created_at])
            tier, _currency, book = self.rng.choice(self.books)
            column = f"PriceTier{tier.removeprefix('Tier ')}"
            current = Decimal(str(self.day.cin7.product(sku)[column]))
            self.day.cin7.update_product(sku, **{column: str(current + Decimal(self.rng.randint(1, 5)))})
            self.price_changes += 1
            self.changes[(book, sku)] += 1

    def summary(self) -> dict[str, Any]:
        """Judged at the site against Cin7: new products, fields the site owns, prices per book."""
        created = self.day.sfcc.product_created_at()
        first_record = self.day.sfcc.record_first_written_at()
        writes = self.day.sfcc.product_writes()
        problems: list[str] = []
        for sku, at_cin7 in sorted(self.created_at.items()):
            at_site = created.get(sku)
            record = first_record.get((self.list_id, sku))
            if at_site is None:
                problems.append(f"{sku}: never created at the site")
                continue
            if at_site < at_cin7:
                problems.append(f"{sku}: at the site before Cin7 had it")
            creation = next(body for method, product, body in writes if product == sku and method == "PUT")
            if creation.get("online_flag") is not False:
                problems.append(f"{sku}: created online")
            if record is None or record < at_site:
                problems.append(f"{sku}: stock record {record} before the product {at_site}")
            if self.day.sfcc.available_to_sell(self.list_id).get(sku, 0) <= 0 and sku not in self.sellable_at:
                problems.append(f"{sku}: never sellable")
        overwritten = []
        for sku, edits in sorted(self.edits.items()):
            document = self.day.sfcc.product_document(sku) or {}
            overwritten += [
                f"{sku}.{attribute}" for attribute, value in edits.items() if document.get(attribute) != value
            ]
        cin7_field_synced = None
        if self.cin7_edit is not None:
            sku, weight = self.cin7_edit
            held = (self.day.sfcc.product_document(sku) or {}).get(self.attributes["weight_kg"])
            cin7_field_synced = held is not None and Decimal(str(held)) == weight
        prices = self.day.sfcc.prices()
        books_wrong = []
        for sku in self.day.skus + [sku for sku in self.created_at if sku not in self.day.skus]:
            row = self.day.cin7.product(sku)
            for tier, currency, book in self.books:
                want = quantize(Decimal(str(row[f"PriceTier{tier.removeprefix('Tier ')}"])), currency)
                held = prices.get((book, sku))
                if held is None or held["amount"] != want or held["currency"] != currency:
                    books_wrong.append(f"{book}/{sku}: {held and held['amount']} != {want}")
        # A write repeated at once with the same amount is the client's retry of a write whose answer was
        # lost (the site applied it): one write. Beyond that, a book takes one write per Cin7 change.
        collapsed: Counter[tuple[str, str]] = Counter()
        last: dict[tuple[str, str], Decimal] = {}
        repeated = 0
        for book, sku, amount in self.day.sfcc.price_writes():
            if last.get((book, sku)) == amount:
                repeated += 1
                continue
            last[(book, sku)] = amount
            collapsed[(book, sku)] += 1
        not_a_change = sum(max(0, count - 1 - self.changes[key]) for key, count in collapsed.items())
        price_writes = len(self.day.sfcc.price_writes())
        return {
            "new_skus_created_in_cin7": len(self.created_at),
            "new_skus_at_the_site": sum(sku in created for sku in self.created_at),
            "new_skus_sellable": len(self.sellable_at),
            "new_sku_problems": problems,
            "site_owned_fields_edited": sum(len(edits) for edits in self.edits.values()),
            "site_owned_fields_overwritten": len(overwritten),
            "site_owned_fields_overwritten_names": overwritten,
            "cin7_owned_field_synced": cin7_field_synced,
            "price_tier_changes": self.price_changes,
            "price_writes": price_writes,
            # Writes after a book's first price for a SKU: one per Cin7 tier change at most (changes only).
            "price_writes_for_changes": sum(count - 1 for count in collapsed.values()),
            "price_writes_repeated_after_a_lost_answer": repeated,
            "price_writes_not_a_change": not_a_change,
            "price_books_wrong": len(books_wrong),
            "price_books_wrong_examples": books_wrong[:10],
        }


# A pipeline's part of the day, by pipeline name; a configured pipeline without one is named in the summary.
PHASES: dict[str, type[Phase]] = {
    "orders": OrdersPhase,
    "cancellation": CancellationPhase,
    "shipments": ShipmentsPhase,
    "stock": StockPhase,
    "catalogue": CataloguePhase,
}


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
        day.skus = [f"{s}-{c}-{z}" for s in STYLES for c in COLOURS for z in SIZES]
        for sku in day.skus:
            day.cin7.prepare_product(sku, name=sku.replace("-", " ").title())
        for phase in day.phases:
            phase.start()
        _place_orders(day)
        day.ends_at = day.clock.now() + timedelta(hours=options.follow_up_hours)
        day.advance(options.follow_up_hours * 3600)
        local.flush()  # what a batching window still holds reaches its hop before the day is judged
        summary = summarise(day)
        summary["pipelines_without_a_day_phase"] = [name for name in configured if name not in PHASES]
        if after is not None:
            after(local)
    details = {"cancel_execution_wall_ms": summary.pop("cancel_execution_wall_ms", None)}
    return DayResult(summary=summary, wall_seconds=time.perf_counter() - started, details=details)


def _place_orders(day: Day) -> None:
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
        wire = sfcc_order(kind, rng, order_no, format_sfcc_datetime(now), currency, day.skus, site_id=site_id)
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
    budget = cin7_budget(day.cin7.simulator, posted)
    # Every flow's share of one key, per posted order: the order monitor apart from the orders it watches.
    by_flow: Counter[str] = Counter({"orders": 0, "shipments": 0, "stock": 0, "catalogue": 0, "monitor": 0})
    for flow, row in budget["flows"].items():
        by_flow["monitor" if flow in MONITOR_HOPS else row["pipeline"]] += row["calls"]
    per_flow = {flow: round(calls / posted, 3) if posted else None for flow, calls in sorted(by_flow.items())}
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
        "cin7_budget": budget,
        "cin7_calls_per_posted_order_by_flow": per_flow,
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
        ("Cin7 shipments not at SFCC", summary.get("shipments_lost", 0)),
        ("Cin7 shipments applied twice at SFCC", summary.get("shipments_applied_twice", 0)),
        ("shipped orders wrong at SFCC", summary.get("shipment_orders_wrong", 0)),
        ("oversold units (SFCC ATS above Cin7 Available less buffer)", summary.get("oversold_units", 0)),
        ("new SKUs wrong at SFCC", len(summary.get("new_sku_problems", []))),
        ("SFCC-owned fields overwritten", summary.get("site_owned_fields_overwritten", 0)),
        ("Cin7-owned field not synced", int(summary.get("cin7_owned_field_synced") is False)),
        ("prices not in their book", summary.get("price_books_wrong", 0)),
        ("price writes that changed nothing", summary.get("price_writes_not_a_change", 0)),
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
    if "sales_shipped" in summary:
        rows += [
            (
                "Sales shipped at Cin7 (in full / in two boxes) / boxes",
                f"{summary['sales_shipped']} ({summary['sales_shipped_in_full']} / "
                f"{summary['sales_shipped_in_two_boxes']}) / {summary['boxes_shipped_at_cin7']}",
            ),
            (
                "Shipments lost / applied twice / orders wrong at SFCC",
                f"{summary['shipments_lost']} / {summary['shipments_applied_twice']} / "
                f"{summary['shipment_orders_wrong']}",
            ),
        ]
    if "oversold_units" in summary:
        rows += [
            (
                "Stock incidents / webhooks sent (missed)",
                f"{summary['stock_incidents']} / {summary['stock_events_sent']} ({summary['stock_events_missed']})",
            ),
            ("Oversold units / check points", f"{summary['oversold_units']} / {summary['stock_check_points']}"),
            (
                "Stock calls per changed SKU (Cin7 / SFCC)",
                f"{summary['cin7_calls_per_changed_sku']} / {summary['sfcc_calls_per_changed_sku']}",
            ),
        ]
    if "new_skus_created_in_cin7" in summary:
        rows += [
            (
                "New SKUs in Cin7 / at SFCC / sellable",
                f"{summary['new_skus_created_in_cin7']} / {summary['new_skus_at_the_site']} / "
                f"{summary['new_skus_sellable']}",
            ),
            (
                "SFCC-owned fields edited / overwritten",
                f"{summary['site_owned_fields_edited']} / {summary['site_owned_fields_overwritten']}",
            ),
            (
                "Price tier changes / price writes for them / books wrong",
                f"{summary['price_tier_changes']} / {summary['price_writes_for_changes']} / "
                f"{summary['price_books_wrong']}",
            ),
        ]
    load = summary.get("sfcc_load_shedding") or {}
    if load.get("window"):
        rows.append(
            (
                "Release polls per hour while SFCC throttles / outside",
                f"{load['release_polls_per_hour_in_window']} / {load['release_polls_per_hour_outside']}",
            )
        )
    rows.append(("Cin7 calls per posted order by flow", summary["cin7_calls_per_posted_order_by_flow"]))
    if summary["pipelines_without_a_day_phase"]:
        rows.append(("Pipelines configured with no day phase yet", summary["pipelines_without_a_day_phase"]))
    return rows
