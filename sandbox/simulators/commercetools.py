"""The commercetools stand-in: the vendor-maintained mock `@labdigital/commercetools-mock` (npm, see
package.json), run as a Node subprocess on 127.0.0.1, and a seeder that builds a project through its
HTTP API the way a shop would (tax category, zone, shipping method, products, channels, carts, orders).

We do not write our own commercetools simulator: the vendor's mock knows the API far better than a
copy of the card would. What it lacks, and how the connector copes, is in MOCK_GAPS; tests that need
something it lacks build that part themselves (messages are put on the queue in the documented
envelope by the test, as commercetools would). `pin_clock` sets the time the mock stamps records with
(our launcher's addition, not the API), so tests and the sandbox run it on their virtual clock.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shared.clock import Clock

ROOT = Path(__file__).resolve().parent.parent.parent
SERVER = Path(__file__).resolve().parent / "commercetools_mock" / "server.mjs"
PACKAGE = ROOT / "node_modules" / "@labdigital" / "commercetools-mock"
REQUIRE_ENV = "HOPLINE_REQUIRE_NODE_MOCKS"
START_TIMEOUT_SECONDS = 20.0
# Sent by the seeder and the sandbox's judge: the launcher leaves these calls out of its request counts.
OBSERVER_HEADER = "x-hopline-observer"

# What @labdigital/commercetools-mock 4.4.0 does not do that the real API does, and what the connector does.
MOCK_GAPS: dict[str, str] = {
    "GET /{pk}/messages": "404. The connector never polls Messages; the changed-since poll reads orders.",
    "subscription delivery": "subscriptions are stored (status Healthy) but nothing is sent; tests put messages "
    "in the documented envelope on the queue themselves.",
    "addQuantity": "400. The connector only writes absolute figures (changeQuantity) with a version check.",
    "GET /{pk}/inventory/key={key}": "404. The connector finds entries by sku and supplyChannel, never by key.",
    "deliveryKey": "stored under the draft's name `deliveryKey`, never as the delivery's `key` the API "
    "returns. The connector reads `key` as documented, and also recognises its delivery by its parcels' "
    "tracking numbers, so a repeat writes nothing against the mock too.",
    "duplicate inventory entries": "a second entry for the same sku and channel is accepted (the API refuses "
    "it); the connector reads by sku and channel sorted by id and always uses the first.",
    "customLineItems on order from cart": "dropped; orders with custom lines are seeded through POST "
    "/{pk}/orders/import, which keeps them.",
    "line item supplyChannel": "not kept on cart or imported lines; the mapping of channels to warehouse "
    "locations is tested on payloads shaped like the API reference's examples.",
    "setReturnShipmentState": "400 (Invalid action). Our launcher (commercetools_mock/server.mjs) adds it as "
    "the API reference documents it, so a return's items can be set BackInStock or Unusable against the mock.",
    "return item key": "not kept (addReturnInfo keeps the item's comment): the connector recognises its return by "
    "the comment naming the warehouse's return id.",
    "taxedPrice on import": "recomputed from the lines, not taken from the draft; mapping's money tests use "
    "the API reference's example payloads instead.",
    "inventoryMode": "ignored: an order never takes units off an inventory entry (the real API does with "
    "ReserveOnOrder / TrackOnly). The connector nets accepted orders off each absolute write itself "
    "(pending_units), which is what the sandbox judges right after each stock run.",
    "faults": "none: the mock answers every call (no 429, 5xx or 409 unless two writers race), so a sandbox "
    "day's faults are the Scend simulator's only.",
}


def unavailable_reason() -> str | None:
    """Why the mock cannot run here (no node, or npm ci not run), or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (the commercetools mock is a Node package)"
    if not PACKAGE.is_dir():
        return "node_modules/@labdigital/commercetools-mock is missing: run `npm ci` (or `make test`)"
    return None


def node_mocks_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") == "1"


class CommercetoolsMock:
    """The vendor mock as a subprocess: `start()` waits for its port, `stop()` closes it (stdin EOF)."""

    name = "commercetools"

    def __init__(
        self,
        project_key: str = "hopline-test",
        client_id: str = "hopline",
        client_secret: str = "mock-secret",  # noqa: S107 (the mock accepts any client secret)
        *,
        sequential_ids: bool = False,
    ):
        """`sequential_ids`: every id the mock assigns is a counter (a seeded day names everything alike)."""
        self.sequential_ids = sequential_ids
        self.project_key = project_key
        self.client_id = client_id
        self.client_secret = client_secret
        self.port: int | None = None
        self._http: httpx.Client | None = None  # for the launcher's own endpoints (one connection, not one a call)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the commercetools mock is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CommercetoolsMock:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self._process = subprocess.Popen(  # noqa: S603 (fixed argv: node and our launcher)
            [shutil.which("node") or "node", str(SERVER)],
            cwd=ROOT,
            env={**os.environ, "HOPLINE_MOCK_SEQUENTIAL_IDS": "1" if self.sequential_ids else "0"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self._process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(self._process.stdout.fileno(), 256)
            if not chunk:
                break
            line += chunk
        try:
            self.port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError) as exc:
            exited = self._process.poll() is not None and self._process.stderr is not None
            error = self._process.stderr.read(2000).decode(errors="replace") if exited and self._process.stderr else ""
            self.stop()
            raise RuntimeError(f"the commercetools mock did not start: {line!r} {error}") from exc
        return self

    def stop(self) -> None:
        process, self._process, self.port = self._process, None, None
        if self._http is not None:
            self._http.close()
            self._http = None
        if process is None:
            return
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()

    def pin_clock(self, moment: datetime | None) -> None:
        """Every createdAt/lastModifiedAt the mock writes from now on reads `moment` (None: the wall clock)."""
        stamp = None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        self._launcher().put(f"{self.base_url}/__hopline/clock", json={"now": stamp}).raise_for_status()

    def _launcher(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=5)
        return self._http

    def calls(self) -> Counter[tuple[str, str]]:
        """API calls received by (flow, "METHOD /path"): the flow is the hop the connector's User-Agent
        names ("-" for none), ids in the path are {id}; the seeder's and the judge's are left out."""
        counts = self._launcher().get(f"{self.base_url}/__hopline/requests").raise_for_status().json()
        found: Counter[tuple[str, str]] = Counter()
        for key, count in counts.items():
            flow, _, route = str(key).partition(" ")
            found[(flow, route)] += int(count)
        return found

    def requests(self) -> Counter[str]:
        """API calls received by "METHOD /path" (ids as {id}), the seeder's and the judge's left out."""
        found: Counter[str] = Counter()
        for (_, route), count in self.calls().items():
            found[route] += count
        return found

    def __enter__(self) -> CommercetoolsMock:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def seeder(self) -> Seeder:
        return Seeder(self.base_url, self.project_key, self.client_id, self.client_secret)


class Seeder:
    """Builds project data through the mock's HTTP API (plain httpx: seeding is not the connector)."""

    def __init__(self, base_url: str, project_key: str, client_id: str, client_secret: str):
        token = (
            httpx.post(
                f"{base_url}/oauth/token",
                auth=(client_id, client_secret),
                params={"grant_type": "client_credentials"},
                headers={OBSERVER_HEADER: "seeder"},
            )
            .raise_for_status()
            .json()["access_token"]
        )
        self.http = httpx.Client(
            base_url=f"{base_url}/{project_key}/",
            headers={"Authorization": f"Bearer {token}", OBSERVER_HEADER: "seeder"},
            timeout=10,
        )
        self._shipping_methods: dict[str, dict[str, Any]] = {}
        self._zone: dict[str, Any] | None = None
        self._tax_category: dict[str, Any] | None = None
        self._product_type: dict[str, Any] | None = None

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"seeding POST {path}: HTTP {response.status_code} {response.text[:500]}")
        result: dict[str, Any] = response.json()
        return result

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get(path, params=params).raise_for_status().json()
        return result

    def update(self, path: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
        current = self.get(path)
        return self.post(path, {"version": current["version"], "actions": actions})

    # -- reference data ---------------------------------------------------------------------------
    def tax_category(self) -> dict[str, Any]:
        if self._tax_category is None:
            self._tax_category = self.post(
                "tax-categories",
                {
                    "key": "standard",
                    "name": "Standard",
                    "rates": [{"name": "VAT", "amount": 0.2, "includedInPrice": True, "country": "GB"}],
                },
            )
        return self._tax_category

    def zone(self) -> dict[str, Any]:
        if self._zone is None:
            self._zone = self.post("zones", {"key": "uk", "name": "UK", "locations": [{"country": "GB"}]})
        return self._zone

    def shipping_method(
        self, name: str = "Tracked 48", *, key: str = "tracked-48", cent_amount: int = 495
    ) -> dict[str, Any]:
        """A shipping method to the UK zone (the first one made is the project's default), made once per key."""
        if key not in self._shipping_methods:
            self._shipping_methods[key] = self.post(
                "shipping-methods",
                {
                    "key": key,
                    "name": name,
                    "isDefault": not self._shipping_methods,
                    "taxCategory": {"typeId": "tax-category", "id": self.tax_category()["id"]},
                    "zoneRates": [
                        {
                            "zone": {"typeId": "zone", "id": self.zone()["id"]},
                            "shippingRates": [{"price": {"currencyCode": "GBP", "centAmount": cent_amount}}],
                        }
                    ],
                },
            )
        return self._shipping_methods[key]

    def channel(self, key: str, roles: tuple[str, ...] = ("InventorySupply",)) -> dict[str, Any]:
        return self.post("channels", {"key": key, "roles": list(roles), "name": {"en": key}})

    def product(self, skus: list[str], *, name: str = "Product", cent_amount: int = 1999) -> dict[str, Any]:
        """A published product whose variants carry these SKUs, priced in GBP."""
        if self._product_type is None:
            self._product_type = self.post("product-types", {"key": "plain", "name": "Plain", "description": "plain"})
        price = [{"value": {"currencyCode": "GBP", "centAmount": cent_amount}}]
        variants = [{"sku": sku, "key": sku.lower(), "prices": price} for sku in skus]
        return self.post(
            "products",
            {
                "productType": {"typeId": "product-type", "id": self._product_type["id"]},
                "name": {"en": name},
                "slug": {"en": f"{name.lower().replace(' ', '-')}-{skus[0].lower()}"},
                "taxCategory": {"typeId": "tax-category", "id": self.tax_category()["id"]},
                "masterVariant": variants[0],
                "variants": variants[1:],
                "publish": True,
            },
        )

    # -- orders -----------------------------------------------------------------------------------
    def order(
        self,
        lines: list[tuple[str, int]],
        *,
        order_number: str | None = None,
        address: dict[str, Any] | None = None,
        email: str = "buyer@example.com",
        shipping_method_id: str | None = None,
    ) -> dict[str, Any]:
        """An order placed from a cart (the shop's path): lines by SKU, shipping to a UK address."""
        address = address or {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "streetNumber": "12",
            "streetName": "St James's Square",
            "postalCode": "SW1Y 4JH",
            "city": "London",
            "country": "GB",
        }
        line_drafts = [{"sku": sku, "quantity": quantity} for sku, quantity in lines]
        cart = self.post(
            "carts",
            {
                "currency": "GBP",
                "country": "GB",
                "customerEmail": email,
                "shippingAddress": address,
                "shippingMethod": {
                    "typeId": "shipping-method",
                    "id": shipping_method_id or self.shipping_method()["id"],
                },
                "lineItems": line_drafts,
            },
        )
        body: dict[str, Any] = {"cart": {"typeId": "cart", "id": cart["id"]}, "version": cart["version"]}
        if order_number:
            body["orderNumber"] = order_number
        return self.post("orders", body)

    def inventory(self, sku: str, channel_id: str, quantity: int) -> dict[str, Any]:
        return self.post(
            "inventory",
            {
                "sku": sku,
                "supplyChannel": {"typeId": "channel", "id": channel_id},
                "quantityOnStock": quantity,
            },
        )


class CommercetoolsPlatform:
    """The mock as a sandbox platform (what sandbox.simulators.registry starts for type `commercetools`).

    Started, it holds the project's channels: one supply channel per warehouse location the settings map
    (`scend-<location>`) and the OrderExport channel the Scend id is synced on; `settings()` names their
    ids for the connector. Its ids are sequential and `pin()` keeps its timestamps on the day's clock, so a
    seed replays the same day. It injects no faults (MOCK_GAPS "faults"). `requests` are the calls the
    launcher counted, the seeder's and the judge's left out.
    """

    name = "commercetools"

    def __init__(self, project_key: str, secret: dict[str, str], *, clock: Clock, locations: list[str]):
        self.mock = CommercetoolsMock(project_key, secret["client_id"], secret["client_secret"], sequential_ids=True)
        self.clock = clock
        self.locations = locations
        self.faults_injected: Counter[str] = Counter()
        self.channels: dict[str, str] = {}
        self.sync_channel = ""
        self._seeder: Seeder | None = None
        self._pinned: datetime | None = None

    def start(self) -> str:
        self.mock.start()
        self.pin()
        self._seeder = self.mock.seeder()
        self.channels = {location: self._seeder.channel(f"scend-{location}")["id"] for location in self.locations}
        self.sync_channel = self._seeder.channel("hopline-orders", roles=("OrderExport",))["id"]
        return f"{self.mock.base_url}/"

    @property
    def seeder(self) -> Seeder:
        if self._seeder is None:
            raise RuntimeError("the commercetools mock is not running")
        return self._seeder

    def settings(self) -> dict[str, Any]:
        """The connector settings that exist only once the project does: its channels' ids."""
        return {"supply_channels": dict(self.channels), "sync_channel_id": self.sync_channel}

    def pin(self) -> None:
        """The mock's clock to the day's now (one call, only when the clock moved since the last)."""
        now = self.clock.now()
        if now != self._pinned:
            self.mock.pin_clock(now)
            self._pinned = now

    @property
    def requests(self) -> Counter[str]:
        return self.mock.requests()

    def calls(self) -> Counter[tuple[str, str]]:
        """By (flow, "METHOD /path"): CommercetoolsMock.calls."""
        return self.mock.calls()

    def stop(self) -> None:
        if self._seeder is not None:
            self._seeder.close()
            self._seeder = None
        self.mock.stop()
