"""The commercetools -> Scend day: orders placed in the vendor's commercetools mock, their Subscription
messages put on the order-messages queue, released to the Scend simulator on the client's trigger; Scend
stock pushed back to commercetools inventory; Scend parcels written back as deliveries.

Orders are placed from carts over the day: most paid at once, some paid later, some never; some carry a
variant published moments before (not yet a Scend item: held until the catalogue sync creates it), a SKU
the warehouse refuses as spelled, a bad postcode or a shipping method with no Scend service; a share of
the paid ones are cancelled before payment, after they reached Scend (before picking) or once picked (too
late: raised for operations and noted on the order). The mock delivers no subscription (MOCK_GAPS), so the
day does what commercetools would: every OrderCreated, OrderPaymentStateChanged / OrderStateChanged (per
the client's release trigger) and cancel message in the documented envelope onto the queue, some twice
(`duplicate_rate`), some without their payload. Scend stock moves (orders allocate, parcels leave,
receipts, units quarantined or damaged) and is pushed on the stock schedule. Faults are injected at the
Scend simulator only: the mock has none (MOCK_GAPS "faults"), which the summary says.

The verdicts come from the platforms, not our ledger: Scend's orders and lines by reference (one per
order, the commercetools lines, postcode, service and value), the Scend id synced on the commercetools
order, the mock's orders, deliveries and inventory entries. Oversold units are sampled after every stock
run: a commercetools entry above Scend's free units (less quarantined and damaged) less the units of
orders commercetools accepted that Scend does not hold. Only a quarantine's reason, a hold and a refused
cancel, which no platform shows, are read from the exception inbox and the ledger. The judge reads both
platforms itself and borrows no connector mapping.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from shared import topology
from shared.clock import VirtualClock
from shared.config import ClientConfig, config_for_client
from shared.connectors.spec import Role
from shared.errors import ConfigError
from shared.models import ReasonCode

SCENARIO = "commercetools_scend"
AT_SCEND = "at_scend"
UNPAID = "unpaid"

KINDS: dict[str, tuple[float, str]] = {
    # kind: (share of orders, expected outcome: at Scend, never released (unpaid) or the quarantine's reason)
    "valid": (0.62, AT_SCEND),  # paid as it is placed
    "paid_later": (0.14, AT_SCEND),  # paid PAYMENT_DELAY_MINUTES after it was placed
    "unpaid": (0.05, UNPAID),  # never paid: never released
    "new_variant": (0.04, AT_SCEND),  # a variant published moments before: held until Scend has the item
    "invalid_sku": (0.03, ReasonCode.SKU_INVALID.value),  # a variant SKU with spaces: never sent as spelled
    "bad_postcode": (0.06, ReasonCode.POSTCODE_INVALID.value),
    "unmapped_shipping": (0.06, ReasonCode.DELIVERY_SERVICE_UNMAPPED.value),
}
PAYMENT_DELAY_MINUTES = (10.0, 90.0)
# Paid orders cancelled in commercetools, and when: before payment (a paid-later order: never released),
# once at Scend before picking (Scend cancels it), once Scend has picked it (refused: too late).
CANCEL_RATE = 0.12
CANCEL_KINDS: dict[str, float] = {"before_payment": 0.3, "before_pick": 0.45, "after_pick": 0.25}
# Minutes after Scend created the order (its timetable: awaiting picking 15, picking 30, picked 45, out 120).
CANCEL_DELAY_MINUTES: dict[str, tuple[float, float]] = {"before_pick": (2.0, 10.0), "after_pick": (50.0, 100.0)}
PAYLOAD_NOT_INCLUDED_RATE = 0.05  # messages sent without their payload (too large): read afresh
DUPLICATE_DELAY_SECONDS = (1.0, 600.0)  # a second delivery of a message arrives this long after the first
STOCK_INCIDENT_EVERY = 8  # orders between stock incidents at Scend (a receipt, units quarantined or damaged)
STEP_SECONDS = 60.0
WAREHOUSE_ID = 3

STYLES = ("TEE", "HOODIE", "CAP")
COLOURS = ("BLK", "WHT", "NVY")
SIZES = ("S", "M", "L")
CENTS = {"TEE": 1999, "HOODIE": 4500, "CAP": 1250}
SHIPPING = {"Tracked 48": ("tracked-48", 495), "Next Day": ("next-day", 895), "Pigeon Post": ("pigeon-post", 1500)}
UNMAPPED_METHOD = "Pigeon Post"
ADDRESSES = (
    {"streetNumber": "1", "streetName": "High Street", "postalCode": "LS1 1AA", "city": "Leeds"},
    {"streetNumber": "22", "streetName": "Mill Lane", "postalCode": "BS1 4DJ", "city": "Bristol"},
    {"streetNumber": "5", "streetName": "Quay Road", "postalCode": "G2 1QX", "city": "Glasgow"},
)
NAMES = (("Ann", "Lee"), ("Sam", "Patel"), ("Niamh", "Byrne"), ("Jo", "Smith"))
CANCELLED_AT_SCEND = 3


@dataclass
class PlannedOrder:
    number: str
    kind: str
    expected: str  # AT_SCEND, UNPAID or a reason code
    placed_at: datetime
    order_id: str = ""
    pay_at: datetime | None = None  # None: paid as placed (or never, when unpaid)
    paid_at: datetime | None = None
    cancel: str | None = None  # a CANCEL_KINDS key
    cancel_minutes: float = 0.0
    cancelled_at: datetime | None = None
    released_by: datetime | None = None  # when the trigger message went on the queue
    lines: list[tuple[str, int]] = field(default_factory=list)


class Day:
    """The day's state: the clock, the local stack, the two platforms' hooks, what was placed, the samples."""

    def __init__(self, options: Any, rng: random.Random, clock: VirtualClock, local: Any, platforms: Any):
        from sandbox.scenario import Schedules

        self.options, self.rng, self.clock, self.local, self.platforms = options, rng, clock, local, platforms
        self.config: ClientConfig = local.config
        self.shop = platforms.hooks(Role.ORDER_SOURCE)
        self.scend = platforms.hooks(Role.ORDER_TARGET)
        self.settings: Any = self.config.settings_for(Role.ORDER_SOURCE)
        if self.settings.release_trigger not in ("payment_paid", "order_confirmed"):
            raise ConfigError(
                f"{self.config.client}: the commercetools day drives release_trigger payment_paid or "
                f"order_confirmed, not {self.settings.release_trigger} (its workflow States are the client's)"
            )
        self.prefix = self.config.orders.reference_prefix
        self.schedules = Schedules(local, clock)
        # The daily jobs (cron: the reconciliation, the SKU audit) run once, at the end of the day, as the
        # night's run would, instead of every ten minutes of it.
        self.daily = [
            hop.name
            for hop in local.deployed.hops
            if hop.name in self.schedules.next
            and str(topology.config_value(self.config, hop.trigger.expression_field)).startswith("cron(")
        ]
        for name in self.daily:
            self.schedules.next[name] = float("inf")
        self.daily_results: dict[str, Any] = {}
        self.planned: list[PlannedOrder] = []
        self.messages = random.Random(options.seed + 7)  # message ids, duplicates, payloads left out
        self.sequence: Counter[str] = Counter()
        self.duplicates: list[tuple[datetime, dict[str, Any]]] = []
        self.message_stats: Counter[str] = Counter()
        self.stock = StockWatch(self)
        self.methods: dict[str, str] = {}  # shipping method name -> id

    def reference(self, order: PlannedOrder) -> str:
        return f"{self.prefix}-{order.number}"

    # -- messages, as commercetools' Subscription would put them on the queue -------------------------
    def message(self, placed: dict[str, Any], type_: str, **fields: Any) -> None:
        """One message in the documented envelope onto order-messages, consumed at once (its poller)."""
        now = self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self.sequence[placed["id"]] += 1
        body: dict[str, Any] = {
            "notificationType": "Message",
            "projectKey": self.settings.project_key,
            "id": f"{self.messages.getrandbits(128):032x}",
            "version": 1,
            "sequenceNumber": self.sequence[placed["id"]],
            "resource": {"typeId": "order", "id": placed["id"]},
            "resourceVersion": placed["version"],
            "resourceUserProvidedIdentifiers": {"orderNumber": placed.get("orderNumber", "")},
            "type": type_,
            "createdAt": now,
            "lastModifiedAt": now,
            **fields,
        }
        if type_ != "OrderCreated" and self.messages.random() < PAYLOAD_NOT_INCLUDED_RATE:
            body = {key: value for key, value in body.items() if key not in fields}
            body["payloadNotIncluded"] = {"reason": "payload too large", "payloadType": type_}
            self.message_stats["payload_not_included"] += 1
        self._deliver(body)
        if self.messages.random() < self.options.duplicate_rate:
            due = self.clock.now() + timedelta(seconds=self.messages.uniform(*DUPLICATE_DELAY_SECONDS))
            self.duplicates.append((due, body))
        self.message_stats[type_] += 1

    def _deliver(self, body: dict[str, Any]) -> None:
        self.local.client("sqs").send_message(
            QueueUrl=self.local.queue_urls["order-messages"], MessageBody=json.dumps(body)
        )
        self.message_stats["delivered"] += 1
        self.shop.pin()
        self.local.drain()

    def deliver_duplicates(self) -> None:
        due = [body for moment, body in self.duplicates if moment <= self.clock.now()]
        self.duplicates = [(moment, body) for moment, body in self.duplicates if moment > self.clock.now()]
        for body in due:
            self.message_stats["duplicates_delivered"] += 1
            self._deliver(body)

    # -- what the shop does ---------------------------------------------------------------------------
    def pay(self, order: PlannedOrder) -> None:
        """Paid (and, for a client releasing on Confirmed, confirmed): the trigger's message goes out."""
        actions = [{"action": "changePaymentState", "paymentState": "Paid"}]
        if self.settings.release_trigger == "order_confirmed":
            actions.append({"action": "changeOrderState", "orderState": "Confirmed"})
        placed = self.shop.update(f"orders/{order.order_id}", actions)
        order.paid_at = order.released_by = self.clock.now()
        if self.settings.release_trigger == "order_confirmed":
            self.message(placed, "OrderStateChanged", orderState="Confirmed", oldOrderState="Open")
        else:
            self.message(placed, "OrderPaymentStateChanged", paymentState="Paid", oldPaymentState="Pending")

    def cancel(self, order: PlannedOrder) -> None:
        placed = self.shop.update(
            f"orders/{order.order_id}", [{"action": "changeOrderState", "orderState": "Cancelled"}]
        )
        order.cancelled_at = self.clock.now()
        self.message(placed, "OrderStateChanged", orderState="Cancelled", oldOrderState="Open")

    def tick(self) -> None:
        """Payments and cancellations whose moment has come, and repeated messages due."""
        now = self.clock.now()
        for order in self.planned:
            if order.cancelled_at is not None:
                continue
            if order.cancel == "before_payment" and order.pay_at is not None:
                if now >= order.placed_at + (order.pay_at - order.placed_at) / 2:
                    self.cancel(order)
                continue
            if order.pay_at is not None and order.paid_at is None and now >= order.pay_at:
                self.pay(order)
            if order.cancel in CANCEL_DELAY_MINUTES:
                created = self.scend.created_at(self.reference(order))
                if created is not None and now >= created + timedelta(minutes=order.cancel_minutes):
                    self.cancel(order)
        self.deliver_duplicates()

    def advance(self, seconds: float) -> None:
        """Move the clock in steps: at each, the shop acts where a moment has come, every schedule due runs
        (its queues drained, its executions run to their end), and stock is sampled after a stock run."""
        end = self.clock.now().timestamp() + seconds
        while (left := end - (now := self.clock.now().timestamp())) >= 0.001:
            due = min(self.schedules.next.values(), default=now + STEP_SECONDS)
            self.clock.advance(max(0.001, min(STEP_SECONDS, left, due - now + 0.001)))
            self.shop.pin()
            self.tick()
            stock_run = self.schedules.next.get("read_stock")
            self.schedules.run_due()
            self.local.wait_for_executions()
            if stock_run is not None and self.schedules.next.get("read_stock") != stock_run:
                self.stock.sample()

    def run_daily(self) -> None:
        """The night's jobs after the day: the order reconciliation's report (gaps by kind) and the SKU audit."""
        for name in self.daily:
            self.daily_results[name] = self.local.run_schedule(name)
            self.local.drain()
        found = self.daily_results.get("reconcile_orders")
        if isinstance(found, dict) and found.get("report"):
            body = json.loads(self.local.runtime.archive.get(found["report"]))
            kinds = Counter(str(gap.get("kind")) for gap in body.get("gaps") or [])
            self.daily_results["reconcile_orders"] = {
                "compared": found.get("compared"),
                "gaps": found.get("gaps"),
                "gaps_by_kind": dict(sorted(kinds.items())),
            }


class StockWatch:
    """Scend's stock moves, and the oversold check after every stock run, from both platforms' truth."""

    def __init__(self, day: Day):
        self.day = day
        self.rng = random.Random(day.options.seed + 11)
        self.incidents: Counter[str] = Counter()
        self.checks = 0
        self.oversold_checks = 0  # (check, SKU) pairs with a commercetools figure above the truth
        self.oversold_units_max = 0
        self.oversold_without_mode = 0
        self.oversold: list[dict[str, Any]] = []
        self.changes = 0  # (SKU, channel) figures made or changed at commercetools between two checks
        self.changed_skus: set[str] = set()
        self.last: dict[tuple[str, str], int] = {}
        self.skus: list[str] = []

    def seed(self, skus: list[str]) -> None:
        self.skus = list(skus)
        for sku in skus:
            total = self.rng.randint(25, 70)
            quarantine = self.rng.choice((0, 0, 0, 1, 2))
            damaged = self.rng.choice((0, 0, 0, 0, 1))
            self.day.scend.set_stock(sku, total, quarantine=quarantine, damaged=damaged, warehouse_id=WAREHOUSE_ID)

    def incident(self) -> None:
        """A receipt, or free units quarantined or found damaged, on one SKU at Scend."""
        sku = self.rng.choice(self.skus)
        level = self.day.scend.stock_level(sku, warehouse_id=WAREHOUSE_ID)
        total, quarantine, damaged = level["total"], level["quarantine"], level["damaged"]
        kind = self.rng.choice(("receipt", "receipt", "quarantine", "damaged"))
        if kind == "receipt":
            total += self.rng.randint(10, 30)
        elif level["sellable"] <= 0:
            return
        elif kind == "quarantine":
            quarantine += min(level["sellable"], self.rng.randint(1, 4))
        else:
            damaged += min(level["sellable"], self.rng.randint(1, 2))
        self.day.scend.set_stock(sku, total, quarantine=quarantine, damaged=damaged, warehouse_id=WAREHOUSE_ID)
        self.incidents[kind] += 1

    def sample(self) -> None:
        """Every commercetools entry, as the storefront sells it, against the truth: Scend's free units (less
        quarantined and damaged) less the units of orders commercetools accepted that Scend does not hold
        (not cancelled, within the connector's window, not at Scend).

        As the storefront sells it: the entry less the units of orders placed since it was written, which
        commercetools takes off itself with inventoryMode TrackOnly / ReserveOnOrder (the netting of each
        absolute write relies on it) and the mock does not (MOCK_GAPS "inventoryMode"). The entry as written
        is judged too (`oversold_checks_without_inventory_mode`): what a shop whose carts reserve nothing
        would show between two writes."""
        day = self.day
        channels = {channel: location for location, channel in day.shop.channels.items()}
        entries: dict[tuple[str, str], tuple[int, str]] = {}
        for entry in day.shop.query("inventory"):
            channel = (entry.get("supplyChannel") or {}).get("id", "")
            key = (str(entry["sku"]), channel)
            if channel in channels and key not in entries:  # the first by id, as the connector reads them
                entries[key] = (int(entry["quantityOnStock"]), str(entry["lastModifiedAt"]))
        at_scend = set(day.scend.orders_by_reference())
        since = day.clock.now() - timedelta(days=day.settings.pending_order_days)
        unallocated: Counter[str] = Counter()
        placed: list[tuple[datetime, str, int]] = []  # every order line: (placed at, SKU, units)
        for order in day.shop.query("orders"):
            created = _moment(order["createdAt"])
            lines = [
                (str(line["variant"].get("sku") or ""), int(line["quantity"])) for line in order.get("lineItems") or []
            ]
            placed += [(created, sku, units) for sku, units in lines]
            if order["orderState"] == "Cancelled" or created <= since:
                continue
            if f"{day.prefix}-{order.get('orderNumber') or order['id']}" not in at_scend:
                for sku, units in lines:
                    unallocated[sku] += units
        self.checks += 1
        for (sku, channel), (written, written_at) in sorted(entries.items()):
            level = day.scend.stock_level(sku, warehouse_id=int(channels[channel]))
            truth = max(0, level["sellable"] - unallocated[sku])
            since_write = sum(
                units for moment, line_sku, units in placed if line_sku == sku and moment > _moment(written_at)
            )
            figure = max(0, written - since_write)
            if figure > truth:
                self.oversold_checks += 1
                self.oversold_units_max = max(self.oversold_units_max, figure - truth)
                if len(self.oversold) < 10:
                    self.oversold.append(
                        {"at": day.clock.now().isoformat(), "sku": sku, "commercetools": figure, "truth": truth}
                    )
            self.oversold_without_mode += written > truth
            if self.last.get((sku, channel)) != written:  # written since the last check (made, or changed)
                self.changes += 1
                self.changed_skus.add(sku)
            self.last[(sku, channel)] = written

    def summary(self) -> dict[str, Any]:
        return {
            "stock_incidents": dict(sorted(self.incidents.items())),
            "stock_checks": self.checks,
            "oversold_checks": self.oversold_checks,
            "oversold_units_max": self.oversold_units_max,
            "oversold_samples": self.oversold,
            "oversold_checks_without_inventory_mode": self.oversold_without_mode,
            "stock_figures_changed": self.changes,
            "stock_skus_changed": len(self.changed_skus),
            "stock_entries_at_commercetools": len(self.last),
        }


# -- the day ---------------------------------------------------------------------------------------
def run_day(options: Any, *, config: ClientConfig | None = None, after: Any = None) -> Any:
    """Drive one commercetools -> Scend day through the local wiring and return its DayResult."""
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
    knobs = registry.DayKnobs.of(options)
    with mock_aws(config=MOTO_CONFIG), registry.running(base, clock, knobs=knobs, rng=rng) as platforms:
        local = LocalHopline(platforms.config, clock, http_timeout=registry.SANDBOX_HTTP_TIMEOUT)
        local.start(platforms.secrets)
        day = Day(options, rng, clock, local, platforms)
        _open_shop(day)
        _place_orders(day)
        day.advance(options.follow_up_hours * 3600)
        day.run_daily()
        local.flush()  # what a batching window still holds reaches its hop before the day is judged
        summary = summarise(day)
        if after is not None:
            after(local)
    details = {"cancel_execution_wall_ms": summary.pop("cancel_execution_wall_ms", None)}
    return DayResult(summary=summary, wall_seconds=time.perf_counter() - started, details=details)


def _open_shop(day: Day) -> None:
    """The project and the warehouse before the first order: products in both, Scend stock, the
    subscription to the stack's queue (as `hopline subscription create` makes it)."""
    seeder = day.shop.seeder
    day.shop.pin()
    seeder.tax_category()
    for name, (key, cents) in SHIPPING.items():
        day.methods[name] = seeder.shipping_method(name, key=key, cent_amount=cents)["id"]
    skus = []
    for style in STYLES:
        for colour in COLOURS:
            variants = [f"{style}-{colour}-{size}" for size in SIZES]
            seeder.product(variants, name=f"{style.title()} {colour}", cent_amount=CENTS[style])
            for sku in variants:
                day.scend.prepare_product(sku, name=sku.replace("-", " ").title())
            skus += variants
    day.stock.seed(skus)
    keeper = day.local.hop_runtime("check_subscription").subscription_keeper
    keeper.ensure_subscription(
        queue_url=day.local.queue_urls["order-messages"], region=day.config.region, account_id="123456789012"
    )


def _place_orders(day: Day) -> None:
    """The trading day: orders at random moments, each one's kind, lines, address and fate drawn in turn."""
    options, rng = day.options, day.rng
    kinds = list(KINDS)
    weights = [KINDS[kind][0] for kind in kinds]
    spacing = options.day_hours * 3600 / max(1, options.orders)
    cancels = random.Random(options.seed + 3)
    for index in range(options.orders):
        day.advance(max(1.0, rng.expovariate(1 / spacing)))
        kind = rng.choices(kinds, weights=weights)[0]
        number = f"CT-{100_001 + index}"
        lines = [
            (f"{rng.choice(STYLES)}-{rng.choice(COLOURS)}-{rng.choice(SIZES)}", rng.randint(1, 3))
            for _ in range(rng.randint(1, 3))
        ]
        lines = list(dict(lines).items())  # one line per SKU
        day.shop.pin()
        if kind in ("new_variant", "invalid_sku"):
            sku = f"NEW-{index}" if kind == "new_variant" else f"TEE BLK {index}"
            day.shop.seeder.product([sku], name=f"Drop {index}", cent_amount=3000)
            lines.append((sku, 1))
        first, last = rng.choice(NAMES)
        address = {"firstName": first, "lastName": last, **rng.choice(ADDRESSES), "country": "GB"}
        if kind == "bad_postcode":
            address["postalCode"] = rng.choice(("LS1", "ZZ99 9ZZZ", "12345"))
        method = (
            UNMAPPED_METHOD if kind == "unmapped_shipping" else rng.choice(("Tracked 48", "Tracked 48", "Next Day"))
        )
        placed = day.shop.seeder.order(
            lines,
            order_number=number,
            address=address,
            email=f"{first.lower()}.{index}@example.com",
            shipping_method_id=day.methods[method],
        )
        order = PlannedOrder(number, kind, KINDS[kind][1], day.clock.now(), placed["id"], lines=lines)
        day.planned.append(order)
        day.message(placed, "OrderCreated", order={"id": placed["id"]})
        if kind in ("valid", "paid_later") and cancels.random() < CANCEL_RATE:
            order.cancel = cancels.choices(list(CANCEL_KINDS), weights=list(CANCEL_KINDS.values()))[0]
            if order.cancel == "before_payment":
                kind = "paid_later"
                order.kind = kind
            else:
                order.cancel_minutes = cancels.uniform(*CANCEL_DELAY_MINUTES[order.cancel])
        if kind == "paid_later":
            order.pay_at = day.clock.now() + timedelta(minutes=rng.uniform(*PAYMENT_DELAY_MINUTES))
        elif kind != "unpaid":
            day.pay(order)
        if index % STOCK_INCIDENT_EVERY == STOCK_INCIDENT_EVERY - 1:
            day.stock.incident()


# -- the judge -------------------------------------------------------------------------------------
def _moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _postcode(text: Any) -> str:
    return " ".join(str(text or "").upper().split())


def _cents(money: dict[str, Any]) -> Decimal:
    return Decimal(int(money["centAmount"])).scaleb(-int(money.get("fractionDigits", 2)))


def scend_problems(day: Day, at_shop: dict[str, Any], held: list[dict[str, Any]]) -> list[str]:
    """What is wrong with Scend's copy of a commercetools order: [] when Scend holds it once, with its
    lines and quantities, postcode, mapped service and value (taxedPrice gross), its id synced back."""
    if not held:
        return ["not at Scend"]
    if len(held) > 1:
        return [f"{len(held)} orders at Scend"]
    order = held[0]
    problems = []
    wanted: Counter[str] = Counter()
    for line in at_shop.get("lineItems") or []:
        wanted[str(line["variant"].get("sku"))] += int(line["quantity"])
    got: Counter[str] = Counter()
    for item in order.get("OrderItems") or []:
        got[str(item["SKU"])] += int(item["Quantity"])
    if got != wanted:
        problems.append(f"lines {dict(sorted(got.items()))} != {dict(sorted(wanted.items()))}")
    address = at_shop.get("shippingAddress") or {}
    if _postcode(order.get("PostCode")) != _postcode(address.get("postalCode")):
        problems.append("postcode differs")
    method = (at_shop.get("shippingInfo") or {}).get("shippingMethodName", "")
    service = day.config.orders.delivery_services.get(method, "?")
    if str(order.get("CourierService") or "") != service:
        problems.append(f"service {order.get('CourierService')!r} != {service!r}")
    taxed = at_shop.get("taxedPrice") or {}
    if taxed and Decimal(str(order.get("OrderValue"))) != _cents(taxed["totalGross"]):
        problems.append(f"value {order.get('OrderValue')} != {_cents(taxed['totalGross'])}")
    synced = [
        info.get("externalId")
        for info in at_shop.get("syncInfo") or []
        if (info.get("channel") or {}).get("id") == day.shop.sync_channel
    ]
    if synced != [str(order["ID"])]:
        problems.append(f"Scend id synced on the order: {synced}")
    return problems


def judge_order(
    day: Day,
    order: PlannedOrder,
    at_shop: dict[str, Any],
    held: list[dict[str, Any]],
    stage: str | None,
    reasons: set[str],
) -> tuple[str, str, list[str]]:
    """(verdict, where the order is, what differs), from the platforms' truth first.

    Where: at_scend, cancelled_at_scend, refused_after_pick (live at Scend, the refusal raised),
    cancelled_before_release, never_released_unpaid, quarantined. Verdicts: as_expected, lost, duplicated,
    unlike_source, bad_order_at_scend, wrong_outcome."""
    live = [o for o in held if o["OrderStatusId"] != CANCELLED_AT_SCEND]
    if order.cancel == "before_payment" or order.expected != AT_SCEND:
        if held:
            return "bad_order_at_scend", "at Scend", []
        if order.cancel == "before_payment":
            return "as_expected", "cancelled_before_release", []
        if order.expected == UNPAID:
            return "as_expected", "never_released_unpaid", []
        if order.expected in reasons:
            return "as_expected", "quarantined", []
        return "wrong_outcome", ", ".join(sorted(reasons)) or stage or "nothing", []
    if not held:
        return "lost", f"not at Scend (ledger: {stage or 'nothing'})", []
    if len(held) > 1:
        return "duplicated", f"{len(held)} orders at Scend", []
    problems = scend_problems(day, at_shop, held)
    if order.cancel == "before_pick":
        return ("as_expected", "cancelled_at_scend", problems) if not live else ("wrong_outcome", "live at Scend", [])
    if order.cancel == "after_pick":
        if not live:
            return "wrong_outcome", "cancelled at Scend after it was picked", problems
        if ReasonCode.CANCEL_TOO_LATE.value not in reasons:
            return "wrong_outcome", "refused cancel not raised for operations", problems
        where = "refused_after_pick"
    else:
        where = "at_scend"
        if not live:
            return "wrong_outcome", "cancelled at Scend without a cancel", problems
    if problems:
        return "unlike_source", where, problems
    return "as_expected", where, []


def _percentile(values: list[float], share: float) -> float | None:
    from sandbox.scenario import _percentile as percentile

    return percentile(values, share)


def judge_orders(day: Day) -> dict[str, Any]:
    """The orders block: every order accounted for at Scend and in commercetools."""
    rt = day.local.runtime
    ledger = {entry.order_key: entry for entry in rt.ledger.scan()}
    reasons: dict[str, set[str]] = {}
    for e in rt.exceptions.list(status=None):
        if e.status == "open":
            reasons.setdefault(e.business_key, set()).update({e.reason.value, *e.reasons})
    by_reference = day.scend.orders_by_reference()
    at_shop = {order["id"]: order for order in day.shop.query("orders")}
    verdicts: Counter[str] = Counter()
    where: Counter[str] = Counter()
    wrong: list[dict[str, Any]] = []
    latencies: list[float] = []
    held_waits: list[float] = []
    unlike = 0
    for order in day.planned:
        key = f"commercetools#{order.order_id}"
        entry = ledger.get(key)
        held = by_reference.get(day.reference(order), [])
        verdict, found, problems = judge_order(
            day, order, at_shop[order.order_id], held, entry.stage.value if entry else None, reasons.get(key, set())
        )
        verdicts[verdict] += 1
        where[found if verdict == "as_expected" else "not_as_expected"] += 1
        unlike += bool(problems)
        if verdict != "as_expected":
            wrong.append(
                {
                    "order": order.number,
                    "kind": order.kind,
                    "cancel": order.cancel or "",
                    "verdict": verdict,
                    "got": found,
                    "problems": problems[:3],
                }
            )
        created = day.scend.created_at(day.reference(order))
        if created is not None and order.released_by is not None:
            wait = (created - order.released_by).total_seconds()
            (held_waits if order.kind == "new_variant" else latencies).append(wait)
    return {
        "orders_placed": len(day.planned),
        "orders_by_kind": dict(sorted(Counter(order.kind for order in day.planned).items())),
        # Where each order is, judged at the platforms (adds up to orders_placed).
        "accounted_for": dict(sorted(where.items())),
        "verdicts": dict(sorted(verdicts.items())),
        "as_expected": verdicts["as_expected"],
        "lost": verdicts["lost"],
        "duplicate_scend_orders": day.scend.duplicate_references(),
        "scend_orders_unlike_source": unlike,
        "bad_orders_at_scend": verdicts["bad_order_at_scend"],
        "wrong_outcome": verdicts["wrong_outcome"],
        "scend_orders": sum(len(orders) for ref, orders in by_reference.items() if ref.startswith(f"{day.prefix}-")),
        # Virtual seconds from the trigger's message on the queue to the order created at Scend (the wait for
        # payment is before the message, so outside it); an order held for its new variant is apart.
        "message_to_scend_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
        "held_for_variant_to_scend_seconds": {
            "p50": _percentile(held_waits, 0.5),
            "max": round(max(held_waits), 1) if held_waits else None,
        },
        "unexpected": wrong[:20],
    }


def judge_shipments(day: Day) -> dict[str, Any]:
    """Every Scend despatch of the day's orders as one delivery on the commercetools order: its tracking
    numbers, its items by SKU; a delivery repeated (same tracking) or more delivered than ordered counts.
    A despatch made within one poll of the day's end and not yet back is in flight, not missing."""
    from sandbox.scenario import poll_interval_seconds

    numbers = {day.reference(order): order for order in day.planned}
    at_shop = {order["id"]: order for order in day.shop.query("orders")}
    despatches = [d for d in day.scend.despatches() if d["OrderNumber"] in numbers]
    # A parcel that left within one despatch poll (and a minute) of the day's end may not be back yet.
    interval = poll_interval_seconds(str(day.config.pipelines.shipments.poll_schedule))  # type: ignore[union-attr]
    recent = day.clock.now() - timedelta(seconds=interval + 60)
    acknowledged, missing, unlike, in_flight = 0, 0, 0, 0
    missing_detail: list[dict[str, Any]] = []
    for despatch in despatches:
        shop_order = at_shop[numbers[despatch["OrderNumber"]].order_id]
        skus = {line["id"]: str(line["variant"].get("sku")) for line in shop_order.get("lineItems") or []}
        tracking = set(despatch["TrackingNumbers"])
        matching = [
            delivery
            for delivery in shop_order.get("shippingInfo", {}).get("deliveries") or []
            if {(p.get("trackingData") or {}).get("trackingId") for p in delivery.get("parcels") or []} == tracking
        ]
        if not matching and _moment(despatch["DespatchDate"]) >= recent:
            in_flight += 1
            continue
        if not matching:
            missing += 1
            if len(missing_detail) < 10:
                missing_detail.append({"order": despatch["OrderNumber"], "tracking": sorted(tracking)})
            continue
        acknowledged += 1
        items: Counter[str] = Counter()
        for item in matching[0].get("items") or []:
            items[skus.get(item["id"], "?")] += int(item["quantity"])
        wanted: Counter[str] = Counter()
        for item in despatch["Items"]:
            wanted[str(item["SKU"])] += int(item["Quantity"])
        unlike += items != wanted
    duplicated, over_delivered = 0, 0
    for order in day.planned:
        shop_order = at_shop[order.order_id]
        deliveries = (shop_order.get("shippingInfo") or {}).get("deliveries") or []
        seen = Counter(
            frozenset((p.get("trackingData") or {}).get("trackingId") for p in d.get("parcels") or [])
            for d in deliveries
        )
        duplicated += sum(count - 1 for count in seen.values())
        delivered: Counter[str] = Counter()
        for delivery in deliveries:
            for item in delivery.get("items") or []:
                delivered[item["id"]] += int(item["quantity"])
        over_delivered += sum(
            1 for line in shop_order.get("lineItems") or [] if delivered[line["id"]] > int(line["quantity"])
        )
    states = Counter(
        str(at_shop[order.order_id].get("shipmentState") or "none")
        for order in day.planned
        if at_shop[order.order_id].get("shippingInfo", {}).get("deliveries")
    )
    writeback = [e for e in day.local.runtime.exceptions.list(status=None) if e.flow == "shipment_writeback"]
    return {
        "despatches_at_scend": len(despatches),
        "split_orders_despatched": len({d["OrderNumber"] for d in despatches if d["DespatchId"] != d["RootOrderId"]}),
        "shipments_acknowledged": acknowledged,
        "shipments_not_written_back": missing,
        "shipments_in_flight_at_end": in_flight,
        "shipments_not_written_back_detail": missing_detail,
        "deliveries_unlike_despatch": unlike,
        "duplicate_deliveries": duplicated,
        "lines_over_delivered": over_delivered,
        "shipment_states": dict(sorted(states.items())),
        "writeback_exceptions_open": sum(1 for e in writeback if e.status != "resolved"),
    }


def judge_cancels(day: Day) -> dict[str, Any]:
    """Cancellations: what the executions decided, how long from the cancel message to the decision, and
    the too-late notes on the commercetools orders."""
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
    field_name = day.settings.notes_field
    noted = 0
    for order in day.planned:
        if order.cancel == "after_pick" and order.cancelled_at is not None:
            custom = day.shop.get(f"orders/{order.order_id}").get("custom") or {}
            noted += bool((custom.get("fields") or {}).get(field_name))
    planned = [order for order in day.planned if order.cancel]
    return {
        "cancels_planned": dict(sorted(Counter(str(order.cancel) for order in planned).items())),
        "cancels_made": sum(order.cancelled_at is not None for order in planned),
        "cancels_requested": len(executions),
        "cancel_outcomes": dict(sorted(outcomes.items())),
        "cancel_executions_failed": sum(1 for e in executions if e["status"] != "SUCCEEDED"),
        "too_late_noted_on_order": noted,
        "cancel_decision_latency_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
        "cancel_execution_wall_ms": {"p50": _percentile(wall_ms, 0.5), "p95": _percentile(wall_ms, 0.95)},
    }


# Which flows' calls count for which figure: per order (the hops every released order passes), the polls
# beside them (the fallback poll, the subscription check, the catalogue), per changed stock figure.
ORDER_FLOWS = ("take_order_message", "order_intake", "order_submit")
ORDER_POLL_FLOWS = ("poll_sales", "check_subscription", "poll_products", "sync_product")
STOCK_FLOWS = ("read_stock", "push_stock")
# The least each released order can cost (docs/sandbox.md): commercetools one fresh read at intake and the
# updateSyncInfo write; Scend the create (its SKUs known from earlier orders).
MINIMUM_PER_ORDER = {"commercetools": 2, "scend": 1}
# And each changed figure: commercetools the entry read, the pending-orders query and changeQuantity; Scend
# nothing besides the feed read each stock run makes whatever changed, since the feed's rows carry Level and
# Breakdown (card 3.6's row): a SKU is re-read only when its row lacks the Breakdown.
MINIMUM_PER_CHANGED_FIGURE = {"commercetools": 3, "scend": 0}
STOCK_FEED_ROUTE = "GET /api/product/stocklevels/updatedsince"


def api_calls(day: Day, released: int, changed: int) -> dict[str, Any]:
    """Calls each platform received by flow (the hop in the connector's User-Agent), and per released
    order and per changed stock figure, against the least each could cost."""
    calls: dict[str, Counter[str]] = {"commercetools": Counter(), "scend": Counter()}
    for (flow, _route), count in day.shop.simulator.calls().items():
        calls["commercetools"][flow] += count
    feed_reads = 0
    for (flow, route), count in day.scend.simulator.calls_by_flow.items():
        calls["scend"][flow] += count
        feed_reads += count if route == STOCK_FEED_ROUTE else 0

    def per(flows: tuple[str, ...], by: int, less: dict[str, int] | None = None) -> dict[str, float | None]:
        return {
            platform: round((sum(counted[flow] for flow in flows) - (less or {}).get(platform, 0)) / by, 3)
            if by
            else None
            for platform, counted in calls.items()
        }

    return {
        "commercetools": sum(calls["commercetools"].values()),
        "scend": sum(calls["scend"].values()),
        "commercetools_by_flow": dict(sorted(calls["commercetools"].items())),
        "scend_by_flow": dict(sorted(calls["scend"].items())),
        "per_released_order": per(ORDER_FLOWS, released),
        "per_released_order_with_polls": per(ORDER_FLOWS + ORDER_POLL_FLOWS, released),
        "minimum_per_order": MINIMUM_PER_ORDER,
        "per_changed_stock_figure": per(STOCK_FLOWS, changed),
        "stock_feed_reads": feed_reads,
        "per_changed_stock_figure_besides_feed": per(STOCK_FLOWS, changed, {"scend": feed_reads}),
        "minimum_per_changed_stock_figure": MINIMUM_PER_CHANGED_FIGURE,
    }


def summarise(day: Day) -> dict[str, Any]:
    """The day judged from what the platforms hold, a block per pipeline, then the calls it took."""
    from sandbox.scenario import _monitor_summary, _order_outcomes
    from shared.steps.monitors import MONITOR_FLOWS

    local, options = day.local, day.options
    blocks: dict[str, Any] = judge_orders(day)
    configured = local.config.pipelines.enabled()
    if "shipments" in configured:
        blocks.update(judge_shipments(day))
    if "cancellation" in configured:
        blocks.update(judge_cancels(day))
    blocks.update(day.stock.summary())
    every_exception = local.runtime.exceptions.list(status=None)
    exceptions = [e for e in every_exception if e.flow not in MONITOR_FLOWS]
    ledger = {entry.order_key: entry for entry in local.runtime.ledger.scan()}
    orders, quarantined, other_exceptions = _order_outcomes(ledger, exceptions)
    released = sum(1 for order in day.planned if day.scend.created_at(day.reference(order)) is not None)
    dlq = local.dlq_messages()
    shop_name = local.config.platform_for(Role.ORDER_SOURCE)
    scend_name = local.config.platform_for(Role.ORDER_TARGET)
    return {
        "scenario": SCENARIO,
        "client": local.config.client,
        "seed": options.seed,
        "fault_rate": options.fault_rate,
        "duplicate_rate": options.duplicate_rate,
        **blocks,
        "messages": dict(sorted(day.message_stats.items())),
        # The ledger's count: every order received once, by stage (adds up to received).
        "orders": orders,
        "quarantined": quarantined,
        "other_exceptions": other_exceptions,
        "in_dlq": sum(len(bodies) for bodies in dlq.values()),
        "in_dlq_by_queue": {name: len(bodies) for name, bodies in dlq.items() if bodies},
        "retries": {
            "http": local.call_stats(shop_name).retries + local.call_stats(scend_name).retries,
            "sqs_redeliveries": sum(local.record_failures.values()),
        },
        "faults_injected": {
            local.config.platforms[name].type: hooks.faults_injected
            for name, hooks in day.platforms.hooks_by_instance.items()
        },
        "faults_note": "the commercetools mock injects none (MOCK_GAPS 'faults'): faults are Scend's only",
        "schedule_runs_failed": dict(local.schedule_failures),
        "released_to_scend": released,
        # The night's run after the day: the reconciliation's gaps by kind (a refused cancel is one), the audit.
        "daily_jobs": {
            name: {key: value for key, value in result.items() if key != "report"}
            if isinstance(result, dict)
            else result
            for name, result in sorted(day.daily_results.items())
        },
        "api_calls": api_calls(day, released, day.stock.changes),
        "monitor": _monitor_summary(every_exception),
    }


def failures(summary: dict[str, Any]) -> list[str]:
    """Why the day is not healthy (empty when it is)."""
    checks = [
        ("lost", summary["lost"]),
        ("duplicate Scend orders (per reference)", summary["duplicate_scend_orders"]),
        ("Scend orders unlike the commercetools order", summary["scend_orders_unlike_source"]),
        ("orders at Scend that should not be", summary["bad_orders_at_scend"]),
        ("wrong outcomes", summary["wrong_outcome"]),
        ("orders not where they should be", summary["orders_placed"] - summary["as_expected"]),
        ("stock checks with oversold units", summary["oversold_checks"]),
        ("Scend despatches not written back as deliveries", summary.get("shipments_not_written_back", 0)),
        ("deliveries unlike their despatch", summary.get("deliveries_unlike_despatch", 0)),
        ("duplicate deliveries", summary.get("duplicate_deliveries", 0)),
        ("lines delivered above their quantity", summary.get("lines_over_delivered", 0)),
        ("messages in a DLQ", summary["in_dlq"]),
        ("failed cancellation executions", summary.get("cancel_executions_failed", 0)),
    ]
    return [f"{label}: {count}" for label, count in checks if count]


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The CLI's table of the day."""
    calls = summary["api_calls"]
    latency = summary["message_to_scend_seconds"]
    accounted = ", ".join(f"{name} {count}" for name, count in summary["accounted_for"].items())
    rows: list[tuple[str, Any]] = [
        ("Orders placed in commercetools", summary["orders_placed"]),
        ("  by kind", summary["orders_by_kind"]),
        ("Messages on the queue (by type, repeats, without payload)", summary["messages"]),
        ("Where they are (judged at Scend and commercetools)", accounted),
        ("Lost / duplicate Scend orders", f"{summary['lost']} / {summary['duplicate_scend_orders']}"),
        ("Scend orders unlike the commercetools order", summary["scend_orders_unlike_source"]),
        ("Wrong outcome / bad orders at Scend", f"{summary['wrong_outcome']} / {summary['bad_orders_at_scend']}"),
        ("Quarantined by reason", summary["quarantined"]),
        ("Message -> Scend order p50 / p95 (virtual s)", f"{latency['p50']} / {latency['p95']}"),
        (
            "Stock checks / with oversold units / max units over",
            f"{summary['stock_checks']} / {summary['oversold_checks']} / {summary['oversold_units_max']}",
        ),
        (
            "  the same checks had carts reserved nothing (inventoryMode None)",
            summary["oversold_checks_without_inventory_mode"],
        ),
        ("Stock incidents at Scend", summary["stock_incidents"]),
        ("commercetools figures changed", summary["stock_figures_changed"]),
        (
            "commercetools / Scend calls per released order (least: 2 / 1)",
            f"{calls['per_released_order']['commercetools']} / {calls['per_released_order']['scend']}",
        ),
        (
            "  with the polls beside them",
            f"{calls['per_released_order_with_polls']['commercetools']} / "
            f"{calls['per_released_order_with_polls']['scend']}",
        ),
        (
            "commercetools / Scend calls per changed stock figure",
            f"{calls['per_changed_stock_figure']['commercetools']} / {calls['per_changed_stock_figure']['scend']}",
        ),
        (
            "  besides Scend's feed reads, one a stock run (least: 3 / 0)",
            f"{calls['per_changed_stock_figure_besides_feed']['commercetools']} / "
            f"{calls['per_changed_stock_figure_besides_feed']['scend']} ({calls['stock_feed_reads']} feed reads)",
        ),
        (
            "Retries (HTTP / SQS redeliveries)",
            f"{summary['retries']['http']} / {summary['retries']['sqs_redeliveries']}",
        ),
        ("Faults injected", f"{summary['faults_injected']} ({summary['faults_note']})"),
        ("Items in DLQs", summary["in_dlq"]),
    ]
    if "despatches_at_scend" in summary:
        rows += [
            (
                "Scend despatches / acknowledged as deliveries / duplicated",
                f"{summary['despatches_at_scend']} / {summary['shipments_acknowledged']} / "
                f"{summary['duplicate_deliveries']} ({summary['shipments_in_flight_at_end']} in flight at the end)",
            ),
            ("Shipment states in commercetools", summary["shipment_states"]),
        ]
    if "cancels_requested" in summary:
        cancel_latency = summary["cancel_decision_latency_seconds"]
        rows += [
            ("Cancels (planned, by moment)", summary["cancels_planned"]),
            ("Cancel outcomes", summary["cancel_outcomes"]),
            ("Cancel to decision p50 / p95 (virtual s)", f"{cancel_latency['p50']} / {cancel_latency['p95']}"),
        ]
    return rows
