"""Which simulator stands in for each platform `type`, and what a sandbox day may do with it per role.

The day runner reads the client's pipelines, asks this registry to start a simulator on 127.0.0.1 for
every platform instance they name (made-up credentials, a seeded fault plan, the connector's `base_url`
pointed at it), and then speaks to each platform only through the hooks of the roles it plays: create
orders at an order source, record parcels and read orders at an order target or shipment source, move
stock at a stock master, read back what a target holds for the verdicts. A new platform's simulator is
one entry here; a new pairing's day is a scenario over these hooks, not a new runner.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from shared.clock import VirtualClock
from shared.config import ClientConfig
from shared.connectors.spec import Role
from shared.errors import ConfigError

from .base import FaultPlan, Simulator, late_answers_time_out

# Real seconds the day's connectors wait for an answer. Injected timeouts are marked and fail at once, so
# this only bounds a real answer: long enough that a slow one on a loaded machine, or one a scenario hook
# holds while it runs (a cancellation racing a create), is never taken for a timeout; a seed's day must
# not depend on how fast the machine is.
SANDBOX_HTTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class DayKnobs:
    """The day's settings a simulator reads (fault rate, seed, how the warehouse behaves). The defaults
    are a quiet platform: no faults, no split parcels."""

    fault_rate: float = 0.0
    seed: int = 0
    warehouse_rejects_duplicates: bool = False
    split_rate: float = 0.0
    multi_tracking_rate: float = 0.0
    late_parcel_hours: float | None = None  # None: the simulator's own default

    @classmethod
    def of(cls, options: Any) -> DayKnobs:
        """The knobs a day's options (sandbox.scenario.DayOptions) set."""
        return cls(
            fault_rate=options.fault_rate,
            seed=options.seed,
            warehouse_rejects_duplicates=options.warehouse_rejects_duplicates,
            split_rate=options.split_rate,
            multi_tracking_rate=options.multi_tracking_rate,
            late_parcel_hours=options.late_parcel_hours,
        )


class PlatformHooks:
    """What every platform's hooks offer: its simulator, and the calls and faults it saw."""

    def __init__(self, simulator: Simulator):
        self.simulator = simulator

    @property
    def requests(self) -> Counter[str]:
        """Calls received, by "METHOD /path" (lower-case path)."""
        return self.simulator.requests

    @property
    def faults_injected(self) -> dict[str, int]:
        return dict(self.simulator.faults_injected)

    def calls(self) -> int:
        return sum(self.simulator.requests.values())


class Cin7CoreHooks(PlatformHooks):
    """Cin7 Core as order source, shipment target, catalogue source, stock master, cancel and note target."""

    simulator: Any

    # order source / catalogue source
    def create_product(self, sku: str, name: str, *, barcode: str) -> None:
        self.simulator.add_product(sku, name, barcode=barcode)

    def create_order(self, **spec: Any) -> str:
        """An authorised sale; returns its SaleID."""
        return str(self.simulator.add_sale(**spec))

    def order_event(self, order_id: str, event: str = "Sale/OrderAuthorised") -> dict[str, Any]:
        """The webhook body Cin7 posts for a sale event."""
        return dict(self.simulator.webhook_payload(order_id, event))

    def void_order(self, order_id: str) -> dict[str, Any]:
        """Void the sale; returns the Sale/Voided webhook body Cin7 then posts."""
        self.simulator.void_sale(order_id)
        return self.order_event(order_id, "Sale/Voided")

    def order(self, order_id: str) -> dict[str, Any]:
        """The sale as GET sale returns it (the source's truth for the verdicts)."""
        return dict(self.simulator.sale(order_id))

    # shipment target / note target
    def tracking_numbers(self, order_id: str) -> list[str]:
        return list(self.simulator.tracking_numbers(order_id))

    def fulfilments(self, order_id: str) -> list[dict[str, Any]]:
        return list(self.simulator.fulfilments(order_id))

    def order_voided(self, order_id: str) -> bool:
        return bool(self.order(order_id)["Status"] == "VOIDED")

    @property
    def notes_written(self) -> int:
        return int(self.simulator.notes_written)

    # stock master
    def set_stock(self, sku: str, location: str, units: int) -> None:
        self.simulator.set_stock(sku, location, units)

    def move_stock(self, sku: str, location: str, delta: int) -> None:
        self.simulator.adjust_stock(sku, location, delta)

    def available(self, sku: str, location: str) -> Decimal:
        return Decimal(self.simulator.availability(sku, location))

    def stock_event(self, skus: list[str]) -> list[dict[str, Any]]:
        """The stock-level webhook body Cin7 posts when Available changes."""
        return list(self.simulator.stock_webhook_payload(skus))


class Cin7CoreSalesHooks(Cin7CoreHooks):
    """Cin7 Core as an order and cancel target as well (the simulator that takes sales over the API)."""

    def prepare_product(self, sku: str, name: str) -> None:
        """A product Cin7 holds before the day starts."""
        self.simulator.add_product(sku, name)

    def sales_by_reference(self) -> dict[str, list[dict[str, Any]]]:
        """Every sale carrying an ExternalID, by it, as Cin7 holds it (order stage with Cin7's own totals)."""
        return dict(self.simulator.sales_by_reference())

    def authorised_at(self, sale_id: str) -> datetime | None:
        """When the sale's order stage was authorised (it became an order), on the day's clock."""
        found = self.simulator.authorised_at.get(sale_id)
        return cast(datetime | None, found)

    def authorise_pick(self, sale_id: str) -> None:
        """The warehouse picks the whole sale: past the default cut-off for a void."""
        self.simulator.authorise_pick(sale_id)

    @property
    def sales_created(self) -> int:
        return int(self.simulator.sales_created)

    def authorised(self) -> dict[str, datetime]:
        """SaleID -> when its order stage was authorised, for every sale authorised so far."""
        with self.simulator.lock:
            return dict(self.simulator.authorised_at)

    # shipment source
    def fulfil(self, sale_id: str, units: dict[str, int], *, tracking: str, carrier: str, box: str) -> str:
        """The warehouse team picks, packs and ships `units` in one box with `tracking`; the TaskID."""
        return str(self.simulator.fulfil(sale_id, units, tracking=tracking, carrier=carrier, box=box))

    # catalogue source
    def update_product(self, sku: str, **fields: Any) -> None:
        """Change wire fields of a product in Cin7 (Name=, Weight=, PriceTier2=...); LastModifiedOn moves."""
        self.simulator.update_product(sku, **fields)

    def product(self, sku: str) -> dict[str, Any]:
        """The product row as GET product lists it."""
        return dict(self.simulator.product_row(sku))


class CommercetoolsHooks(PlatformHooks):
    """commercetools (the vendor's mock) as order source, shipment, cancel, note and stock target: the
    shop's orders placed from carts, paid and cancelled, read back as the project holds them. Every call
    here is the sandbox's own (seeding, judging), left out of the platform's request counts."""

    simulator: Any

    @property
    def seeder(self) -> Any:
        """sandbox.simulators.commercetools.Seeder over the mock's HTTP API."""
        return self.simulator.seeder

    def pin(self) -> None:
        """Stamp what the mock writes from now on with the day's clock."""
        self.simulator.pin()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return dict(self.seeder.get(path, **params))

    def update(self, path: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
        self.pin()
        return dict(self.seeder.update(path, actions))

    def query(self, path: str, where: str | None = None) -> list[dict[str, Any]]:
        """Every resource at `path` (matching `where`), by id, page by page."""
        found: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"limit": 500, "offset": len(found), "sort": "id asc"}
            if where:
                params["where"] = where
            page = self.seeder.get(path, **params)["results"]
            found.extend(page)
            if len(page) < 500:
                return found

    @property
    def channels(self) -> dict[str, str]:
        """Warehouse location -> its supply channel id."""
        return dict(self.simulator.channels)

    @property
    def sync_channel(self) -> str:
        return str(self.simulator.sync_channel)


class SfccHooks(PlatformHooks):
    """SFCC as order source and cancel source (orders placed and cancelled at the site, read back as held),
    and as the shipment, stock and catalogue target whose records, prices and products are read back."""

    simulator: Any

    def place_order(self, order: dict[str, Any]) -> None:
        """An order placed at the site (SCAPI Orders shape, money as JSON numbers)."""
        self.simulator.add_order(order)

    def cancel_order(self, order_no: str) -> None:
        """Cancelled in Business Manager: status cancelled, lastModified now."""
        self.simulator.cancel_order(order_no)

    def order(self, order_no: str) -> dict[str, Any]:
        """The order as the site holds it (the source's truth for the verdicts)."""
        with self.simulator.lock:
            return dict(self.simulator.orders[order_no])

    def refuse_export_status(self, order_no: str, times: int) -> None:
        """The order's next `times` export-status writes answer 503, so its claim fails and it is listed again."""
        self.simulator.refuse_export_status(order_no, times)

    @property
    def export_status_refused(self) -> int:
        return int(self.simulator.export_status_refused)

    def listed_at(self, order_no: str) -> list[datetime]:
        """When a release listing returned the order."""
        with self.simulator.lock:
            return list(self.simulator.listed_at.get(order_no, ()))

    def release_listings(self) -> list[datetime]:
        """When each release listing (a GET /orders filtered on export status) was made."""
        with self.simulator.lock:
            return list(self.simulator.release_listings)

    def set_load(self, load: int | None) -> None:
        """The instance's load (0-100) every answer reports in sfdc_load / sfdc_load_status; None: no headers."""
        with self.simulator.lock:
            self.simulator.load = load

    # catalogue target
    def prepare_product(self, product_id: str, document: dict[str, Any]) -> None:
        """A product the site holds before the day starts (its OCAPI Data document's attributes)."""
        self.simulator.add_product(product_id)
        with self.simulator.lock:
            self.simulator.product_documents[product_id] = dict(document)

    def product_document(self, product_id: str) -> dict[str, Any] | None:
        with self.simulator.lock:
            found = self.simulator.product_documents.get(product_id)
            return None if found is None else dict(found)

    def edit_product(self, product_id: str, **attributes: Any) -> None:
        """Merchandising edits the product in Business Manager (no API call)."""
        with self.simulator.lock:
            self.simulator.product_documents[product_id].update(attributes)

    def product_created_at(self) -> dict[str, datetime]:
        with self.simulator.lock:
            return dict(self.simulator.product_created_at)

    def product_writes(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(method, product id, body) of every product write the site took."""
        with self.simulator.lock:
            return list(self.simulator.product_writes)

    def prices(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(price book, product) -> {amount, currency} as the site holds them."""
        with self.simulator.lock:
            return {key: dict(value) for key, value in self.simulator.prices.items()}

    def price_writes(self) -> list[tuple[str, str, Decimal]]:
        with self.simulator.lock:
            return list(self.simulator.price_writes)

    # stock target
    def available_to_sell(self, list_id: str) -> dict[str, int]:
        """Product -> ATS (allocation less the orders placed since its reset_date) for every record of a list."""
        return dict(self.simulator.available_to_sell(list_id))

    def allocation(self, list_id: str, product_id: str) -> dict[str, Any] | None:
        with self.simulator.lock:
            record = self.simulator.inventory.get((list_id, product_id))
            return None if record is None else dict(record["allocation"])

    def record_first_written_at(self) -> dict[tuple[str, str], datetime]:
        with self.simulator.lock:
            return dict(self.simulator.record_first_written_at)


class ScendHooks(PlatformHooks):
    """Scend as order target, shipment source, catalogue target, stock target and reader, cancel target."""

    simulator: Any

    # catalogue / order target
    def prepare_product(self, sku: str, name: str) -> None:
        """A product the warehouse holds before the day starts."""
        self.simulator.add_product(sku, name=name)

    def orders_by_reference(self) -> dict[str, list[dict[str, Any]]]:
        """The warehouse's orders by client reference (split-off parts folded back in)."""
        return dict(self.simulator.orders_by_reference())

    def created_at(self, reference: str) -> datetime | None:
        found = self.simulator.created_at(reference)
        return cast(datetime | None, found)

    def was_shipped(self, order_id: int) -> bool:
        return bool(self.simulator.was_shipped(order_id))

    def duplicate_references(self) -> int:
        return int(self.simulator.duplicate_references())

    @property
    def duplicate_rejections(self) -> int:
        return int(self.simulator.duplicate_rejections)

    @property
    def product_writes(self) -> int:
        return int(self.simulator.product_writes)

    def on_create(self, hook: Callable[[str], None] | None) -> None:
        """Call `hook(reference)` on the request thread just before an order create lands (None: stop)."""
        self.simulator.before_create = hook

    # shipment source
    def despatches(self) -> list[dict[str, Any]]:
        """Every despatch the warehouse made: OrderNumber, DespatchId, Parcels, TrackingNumbers."""
        return list(self.simulator.despatches())

    # stock target / reader
    def set_stock(self, sku: str, total: int, *, quarantine: int = 0, damaged: int = 0, warehouse_id: int) -> None:
        self.simulator.set_stock(sku, total, quarantine=quarantine, damaged=damaged, warehouse_id=warehouse_id)

    def stock_level(self, sku: str, *, warehouse_id: int) -> dict[str, int]:
        return dict(self.simulator.stock_level(sku, warehouse_id=warehouse_id))

    def figures_received(self) -> dict[tuple[str, int], int]:
        """The sellable figure last set per (SKU, warehouse) by the connector."""
        return dict(self.simulator.channel_stock)

    def figure_history(self) -> list[tuple[str, int, int]]:
        return list(self.simulator.channel_history)

    @property
    def figure_rows_applied(self) -> int:
        return int(self.simulator.channel_rows_applied)

    # cancel target
    @property
    def cancel_requests(self) -> int:
        return int(self.simulator.cancel_requests)

    @property
    def cancel_refusals(self) -> int:
        return int(self.simulator.cancel_refusals)


@dataclass(frozen=True)
class SimulatorKind:
    """How to stand in for one platform type: its credentials, its simulator, the connector's base URL on
    it, and the hooks it offers for the roles listed (a role not listed has no scenario hooks yet)."""

    type: str
    roles: frozenset[Role]
    credentials: Callable[[random.Random, int], dict[str, str]]  # (the day's rng, seed) -> secret value
    build: Callable[[Any, dict[str, str], VirtualClock, FaultPlan, DayKnobs], Simulator]
    base_url: Callable[[str], str]  # the simulator's root URL -> the connector's base_url
    hooks: Callable[[Simulator], PlatformHooks]
    # For a connector reached at several URLs (a token host, API hosts): the settings that point it at the root.
    urls: Callable[[str], dict[str, str]] | None = None
    # Settings that exist only once the simulator is up (ids the platform assigned, e.g. channels).
    started: Callable[[Any], dict[str, Any]] | None = None

    def pointed_at(self, root: str) -> dict[str, str]:
        """The connector settings that send its calls to a simulator serving at `root`."""
        return self.urls(root) if self.urls is not None else {"base_url": self.base_url(root)}


def _cin7(settings: Any, secret: dict[str, str], clock: VirtualClock, faults: FaultPlan, knobs: DayKnobs) -> Simulator:
    """The order-source simulator, or where the settings have a `sales` section (Cin7 is an order target)
    the one that takes sales over the API, its customers in the currencies the section names."""
    from .cin7_core import Cin7CoreSimulator
    from .cin7_core_sales import Cin7CoreSalesSimulator

    sales = getattr(settings, "sales", None)
    if sales is None:
        return Cin7CoreSimulator(
            secret["account_id"],
            secret["application_key"],
            clock=clock,
            faults=faults,
            calls_per_minute=settings.calls_per_minute,
        )
    simulator = Cin7CoreSalesSimulator(
        secret["account_id"],
        secret["application_key"],
        clock=clock,
        faults=faults,
        calls_per_minute=settings.calls_per_minute,
        customer_currencies={customer: currency for currency, customer in sales.customers_by_currency.items()},
    )
    simulator.service_products = {sales.shipping_product, sales.rounding_product}
    return simulator


def _cin7_hooks(simulator: Simulator) -> PlatformHooks:
    from .cin7_core_sales import Cin7CoreSalesSimulator

    return Cin7CoreSalesHooks(simulator) if isinstance(simulator, Cin7CoreSalesSimulator) else Cin7CoreHooks(simulator)


def _sfcc(settings: Any, secret: dict[str, str], clock: VirtualClock, faults: FaultPlan, knobs: DayKnobs) -> Simulator:
    from .sfcc import SfccSimulator

    return SfccSimulator(
        secret["client_id"],
        secret["client_secret"],
        organization_id=settings.organization_id,
        site_id=settings.site_id,
        inventory_list_ids=(settings.inventory_list_id,),
        price_book_endpoint=settings.price_book_endpoint,
        product_endpoint=settings.products.endpoint,
        clock=clock,
        faults=faults,
    )


def _commercetools(
    settings: Any, secret: dict[str, str], clock: VirtualClock, faults: FaultPlan, knobs: DayKnobs
) -> Simulator:
    """The vendor's mock (a Node process), not a simulator of ours: it has no fault plan (MOCK_GAPS)."""
    from .commercetools import CommercetoolsPlatform

    platform = CommercetoolsPlatform(
        settings.project_key, secret, clock=clock, locations=sorted(settings.supply_channels)
    )
    return cast(Simulator, platform)  # start, stop, requests and faults_injected, as a Simulator has


def _scend(settings: Any, secret: dict[str, str], clock: VirtualClock, faults: FaultPlan, knobs: DayKnobs) -> Simulator:
    from .scend import ScendSimulator

    extra: dict[str, Any] = {}
    if knobs.late_parcel_hours is not None:
        extra["late_parcel_hours"] = knobs.late_parcel_hours
    return ScendSimulator(
        secret["api_key"],
        clock=clock,
        faults=faults,
        enforce_unique_reference=knobs.warehouse_rejects_duplicates,
        split_rate=knobs.split_rate,
        multi_tracking_rate=knobs.multi_tracking_rate,
        seed=knobs.seed,
        # The inferred stock write is served only where the client's config names one.
        stock_write_endpoint=settings.stock_write_endpoint,
        **extra,
    )


SIMULATORS: dict[str, SimulatorKind] = {
    kind.type: kind
    for kind in (
        SimulatorKind(
            type="cin7_core",
            roles=frozenset(
                {
                    Role.ORDER_SOURCE,
                    Role.SHIPMENT_TARGET,
                    Role.CATALOGUE_SOURCE,
                    Role.STOCK_MASTER,
                    Role.CANCEL_SOURCE,
                    Role.NOTE_TARGET,
                    # where its settings have a `sales` section (Cin7CoreSalesHooks)
                    Role.ORDER_TARGET,
                    Role.CANCEL_TARGET,
                    Role.SHIPMENT_SOURCE,
                }
            ),
            credentials=lambda rng, seed: {
                "account_id": f"acct-{seed}",
                "application_key": f"key-{rng.getrandbits(64):x}",
            },
            build=_cin7,
            base_url=lambda root: f"{root}ExternalApi/v2/",
            hooks=_cin7_hooks,
        ),
        SimulatorKind(
            type="scend",
            roles=frozenset(
                {
                    Role.ORDER_TARGET,
                    Role.SHIPMENT_SOURCE,
                    Role.CATALOGUE_TARGET,
                    Role.STOCK_TARGET,
                    Role.STOCK_READER,
                    Role.CANCEL_TARGET,
                    # the stock master of a storefront's day (Scend -> commercetools), and its returns
                    Role.STOCK_MASTER,
                    Role.RETURN_SOURCE,
                }
            ),
            credentials=lambda rng, seed: {"api_key": f"scend-{rng.getrandbits(64):x}"},
            build=_scend,
            base_url=lambda root: f"{root}api/",
            hooks=ScendHooks,
        ),
        SimulatorKind(
            type="commercetools",
            roles=frozenset(
                {
                    Role.ORDER_SOURCE,
                    Role.SHIPMENT_TARGET,
                    Role.CATALOGUE_SOURCE,
                    Role.CANCEL_SOURCE,
                    Role.NOTE_TARGET,
                    Role.STOCK_TARGET,
                    Role.STOCK_READER,
                    Role.RETURN_TARGET,
                }
            ),
            credentials=lambda rng, seed: {
                "client_id": f"hopline-{seed}",
                "client_secret": f"ct-{rng.getrandbits(64):x}",
            },
            build=_commercetools,
            base_url=lambda root: root.rstrip("/"),
            hooks=CommercetoolsHooks,
            # The mock serves the token endpoint and the API on one host.
            urls=lambda root: {"api_url": root.rstrip("/"), "auth_url": root.rstrip("/")},
            started=lambda simulator: simulator.settings(),
        ),
        SimulatorKind(
            type="sfcc",
            roles=frozenset(
                {Role.ORDER_SOURCE, Role.CANCEL_SOURCE, Role.SHIPMENT_TARGET, Role.STOCK_TARGET, Role.CATALOGUE_TARGET}
            ),
            credentials=lambda rng, seed: {
                "client_id": f"hopline-{seed}",
                "client_secret": f"sfcc-{rng.getrandbits(64):x}",
            },
            build=_sfcc,
            base_url=lambda root: root,
            hooks=SfccHooks,
            # Account Manager, SCAPI and OCAPI Data are three hosts; the simulator serves all three.
            urls=lambda root: {
                "auth_url": f"{root}dwsso/oauth2/access_token",
                "scapi_base_url": root,
                "ocapi_base_url": root,
            },
        ),
    )
}


def kind_for(platform_type: str) -> SimulatorKind:
    try:
        return SIMULATORS[platform_type]
    except KeyError:
        known = ", ".join(sorted(SIMULATORS))
        raise ConfigError(f"no sandbox simulator for platform type '{platform_type}' (simulated: {known})") from None


def pipeline_platforms(config: ClientConfig) -> list[str]:
    """The platform instances the enabled pipelines name, in the order `platforms:` lists them."""
    named = {name for p in config.pipelines.enabled().values() for name in (p.from_, p.to)}
    return [name for name in config.platforms if name in named]


@dataclass
class Platforms:
    """The started simulators of one day, by instance, and the config pointed at them."""

    config: ClientConfig
    simulators: dict[str, Simulator]
    hooks_by_instance: dict[str, PlatformHooks]
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # config path -> secret value

    def hooks(self, role: Role) -> Any:
        """The hooks of the platform that plays `role` in this client's pipelines."""
        name = self.config.platform_for(role)
        kind = kind_for(self.config.platforms[name].type)
        if role not in kind.roles:
            raise ConfigError(f"the {kind.type} simulator has no sandbox hooks for {role.value} ('{name}')")
        return self.hooks_by_instance[name]

    def webhook_secret(self, role: Role) -> str:
        return self.secrets[f"platforms.{self.config.platform_for(role)}.webhook_secret"]["secret"]

    def stop(self) -> None:
        for simulator in self.simulators.values():
            simulator.stop()


def build(
    config: ClientConfig,
    clock: VirtualClock,
    *,
    knobs: DayKnobs | None = None,
    rng: random.Random | None = None,
    secrets: dict[str, dict[str, str]] | None = None,
) -> Platforms:
    """Simulators (not yet started) for every platform the pipelines name, with their credentials.

    Credentials are drawn from `rng` platform by platform in config order (the credentials secret, then
    the webhook secret where the platform has one), unless `secrets` gives them; each platform's fault
    plan is seeded `knobs.seed + its position`, so a seed gives the same faults every run.
    """
    knobs = knobs or DayKnobs()
    rng = rng or random.Random(knobs.seed)
    values: dict[str, dict[str, str]] = {}
    simulators: dict[str, Simulator] = {}
    hooks: dict[str, PlatformHooks] = {}
    for position, name in enumerate(pipeline_platforms(config)):
        settings = config.platforms[name]
        kind = kind_for(settings.type)
        credentials_path = f"platforms.{name}.credentials_secret"
        hook_path = f"platforms.{name}.webhook_secret"
        if secrets is not None:
            values[credentials_path] = secrets[credentials_path]
            if hook_path in secrets:
                values[hook_path] = secrets[hook_path]
        else:
            values[credentials_path] = kind.credentials(rng, knobs.seed)
            if getattr(settings, "webhook_secret", None):
                values[hook_path] = {"secret": f"hook-{rng.getrandbits(64):x}"}
        # A timeout fault answers at once, marked late; `running` makes the mark the client's timeout.
        faults = FaultPlan(rate=knobs.fault_rate, seed=knobs.seed + position, per_request=True, timeout_marked=True)
        simulators[name] = kind.build(settings, values[credentials_path], clock, faults, knobs)
        hooks[name] = kind.hooks(simulators[name])
    return Platforms(config=config, simulators=simulators, hooks_by_instance=hooks, secrets=values)


@contextmanager
def running(
    config: ClientConfig,
    clock: VirtualClock,
    *,
    knobs: DayKnobs | None = None,
    rng: random.Random | None = None,
    secrets: dict[str, dict[str, str]] | None = None,
) -> Iterator[Platforms]:
    """Start the simulators on 127.0.0.1 and yield them with the config's base URLs pointed at them."""
    platforms = build(config, clock, knobs=knobs, rng=rng, secrets=secrets)
    with contextlib.ExitStack() as active:
        active.enter_context(late_answers_time_out())
        active.callback(platforms.stop)
        pointed = config
        for name, simulator in platforms.simulators.items():
            root = simulator.start()
            kind = kind_for(config.platforms[name].type)
            changes: dict[str, Any] = kind.pointed_at(root)
            if kind.started is not None:
                changes |= kind.started(simulator)
            pointed = pointed.with_platform(name, **changes)
        platforms.config = pointed
        yield platforms
