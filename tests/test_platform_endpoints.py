"""The endpoint tables in docs/platforms/: the connectors call only what they list, and the simulators serve
only what they list (an inferred endpoint only behind the switch its config field names)."""

from __future__ import annotations

import httpx
import pytest

from sandbox import platform_docs
from sandbox.platform_docs import endpoints, undocumented
from sandbox.simulators.base import Simulator
from sandbox.simulators.cin7_core_sales import Cin7CoreSalesSimulator
from sandbox.simulators.scend import ScendSimulator
from sandbox.simulators.sfcc import SfccSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.registry import known, spec_for
from shared.connectors.scend import ScendClient
from shared.connectors.sfcc.settings import SfccSettings
from tests import endpoint_recorder

SCEND = "https://api.scend.example/api/"
CIN7 = "https://inventory.dearsystems.com/ExternalApi/v2/"
CT = "https://api.europe-west1.gcp.commercetools.com/"
SFCC_ORDERS = (
    "https://kv7kzm78.api.commercecloud.salesforce.com/checkout/orders/v1/organizations/f_ecom_zzxy_prd/orders"
)
SFCC_DATA = "https://zzxy-prd.dx.commercecloud.salesforce.com/s/-/dw/data/v23_2/"
# A connector not yet in the registry names its inferred endpoints in its own settings model.
SETTINGS_MODELS = {"sfcc": SfccSettings}


def settings_have(model: type, dotted: str) -> bool:
    for part in dotted.split("."):
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return False
        model = fields[part].annotation
    return True


@pytest.mark.parametrize("platform", sorted(platform_docs.PAGES))
def test_every_row_has_a_card_section_a_mark_and_an_inferred_one_names_its_config_field(
    platform: str,
) -> None:
    rows = endpoints(platform)
    assert rows and all(row.card and row.mark in platform_docs.MARKS for row in rows)
    for row in rows:
        if row.mark == "[I]" and row.called:
            # An inferred endpoint is named by a field of that platform's own settings model.
            model = spec_for(platform).settings if platform in known() else SETTINGS_MODELS[platform]
            assert row.config and settings_have(model, row.config), row
    called = [row for row in rows if row.called]
    assert len({(row.method, row.path) for row in called}) == len(called), "a row is listed twice"


def test_the_counts_quoted_on_the_pages_are_the_tables() -> None:
    for platform, page in platform_docs.PAGES.items():
        called = [row for row in endpoints(platform) if row.called]
        counts = {mark: sum(row.mark == mark for row in called) for mark in platform_docs.MARKS}
        text = (platform_docs.DOCS / page).read_text()
        assert f"**[V] {counts['[V]']}, [C] {counts['[C]']}, [I] {counts['[I]']}**" in text, (platform, counts)


@pytest.mark.parametrize(
    ("platform", "method", "url", "parameters", "problem"),
    [
        # the inferred parcel feed the card does not have
        ("scend", "GET", SCEND + "Order/Shipments/List", ["SinceDate", "PageNo", "Limit"], "not listed"),
        # the stage read-back the card does not have
        ("cin7_core", "GET", CIN7 + "sale/fulfilment/ship", ["TaskID"], "not listed"),
        # paging spelled otherwise than the card writes it
        ("cin7_core", "GET", CIN7 + "saleList", ["UpdatedSince", "Page", "Limit"], "['Limit', 'Page']"),
        # an endpoint the page lists as not called by the connector
        ("cin7_core", "POST", CIN7 + "sale/invoice", [], "not listed"),
        # a URL outside the platform's API root
        ("scend", "GET", "https://api.scend.example/Order/List", [], "not under the scend API root"),
        # the Messages query the vendor mock does not serve: listed, not called
        ("commercetools", "GET", CT + "acme-prod/messages", ["where"], "not called by the connector"),
        # a parameter the page does not list for the order query
        ("commercetools", "GET", CT + "acme-prod/orders", ["where", "expand"], "['expand']"),
        # creating orders: the shop's business, not ours
        ("commercetools", "POST", CT + "acme-prod/orders", [], "not listed"),
        # SCAPI's createOrders, which the connector has no business calling
        ("sfcc", "POST", SFCC_ORDERS, ["siteId"], "not listed"),
        # a listing filter the page does not list for the poll
        ("sfcc", "GET", SFCC_ORDERS, ["siteId", "creationDateFrom"], "['creationDateFrom']"),
        # served for scenarios, never called
        ("sfcc", "PUT", SFCC_ORDERS + "/00000410/external-status", ["siteId"], "not called by the connector"),
        # OCAPI Shop order search (needs a Business Manager user grant)
        (
            "sfcc",
            "POST",
            "https://zzxy-prd.dx.commercecloud.salesforce.com/s/RefArch/dw/shop/v23_2/order_search",
            [],
            "not listed",
        ),
    ],
)
def test_what_the_pages_do_not_list_is_caught(
    platform: str, method: str, url: str, parameters: list[str], problem: str
) -> None:
    found = undocumented(platform, method, url, parameters)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    ("platform", "method", "url", "parameters"),
    [
        ("scend", "GET", SCEND + "Order/List", ["OrderStatusId", "SinceDespatchDate", "IncludeOrderItems", "PageNo"]),
        ("scend", "GET", SCEND + "Order/50001/Shipments", []),
        ("scend", "POST", SCEND + "Product/ChannelStockLevels", []),
        ("cin7_core", "GET", CIN7 + "saleList", ["UpdatedSince", "OrderStatus", "page", "limit"]),
        ("cin7_core", "PUT", CIN7 + "sale", []),
        ("commercetools", "POST", "https://auth.europe-west1.gcp.commercetools.com/oauth/token", []),
        ("commercetools", "GET", CT + "acme-prod/inventory", ["where", "sort", "limit", "offset", "withTotal"]),
        ("commercetools", "GET", CT + "acme-prod/orders/order-number=A-10042", []),
        ("commercetools", "POST", CT + "acme-prod/inventory/3f2a", []),
        ("sfcc", "POST", "https://account.demandware.com/dwsso/oauth2/access_token", []),
        ("sfcc", "GET", SFCC_ORDERS, ["siteId", "status", "exportStatus", "lastModifiedDateFrom", "limit", "offset"]),
        ("sfcc", "PUT", SFCC_ORDERS + "/00000410/export-status", ["siteId"]),
        ("sfcc", "PATCH", SFCC_DATA + "inventory_lists/inventory_m/product_inventory_records/701643632930", []),
    ],
)
def test_what_the_pages_list_is_allowed(platform: str, method: str, url: str, parameters: list[str]) -> None:
    assert undocumented(platform, method, url, parameters) is None


def test_the_recorder_sees_every_request_a_connector_sends() -> None:
    # Given a Scend connector over a mock transport
    client = ScendClient(
        SCEND,
        "key",
        retry=RetryConfig(max_attempts=1),
        clock=VirtualClock(),
        http=httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=[]))),
    )
    endpoint_recorder.clear()
    # When it makes a documented call, and (by hand) one the page does not list
    list(client.shipments_since(VirtualClock().now()))
    client._call("GET", "Order/Shipments/List", params={"SinceDate": "2026-11-23T00:00:00"})
    # Then both were recorded, and only the second is a problem (cleared, so this test itself passes)
    recorded = endpoint_recorder.calls()
    assert ("scend", "GET", SCEND + "Order/List") in {call[:3] for call in recorded}
    assert endpoint_recorder.problems() == ["GET Order/Shipments/List: not listed in docs/platforms/scend.md"]
    endpoint_recorder.clear()


def served(simulator: Simulator, prefix: str) -> set[tuple[str, str]]:
    """(method, documented path) for every route of a simulator, by matching each row's sample path."""
    return {
        (row.method, row.path)
        for row in endpoints(simulator.name)
        for method, pattern, _, _ in simulator.routes
        if method == row.method and pattern.match(prefix + row.sample())
    }


def routes_matching_no_row(simulator: Simulator, prefix: str) -> list[str]:
    rows = endpoints(simulator.name)
    return [
        f"{method} {pattern.pattern}"
        for method, pattern, _, _ in simulator.routes
        if not any(method == row.method and pattern.match(prefix + row.sample()) for row in rows)
    ]


def test_the_simulators_serve_exactly_the_documented_rows_and_an_inferred_one_only_behind_its_switch() -> None:
    clock = VirtualClock()
    documented = {(row.method, row.path) for row in endpoints("scend")}
    inferred = {(row.method, row.path) for row in endpoints("scend") if row.mark == "[I]"}
    # The card-faithful default serves every [V]/[C] row and no [I] one
    scend = ScendSimulator("k", clock=clock)
    assert routes_matching_no_row(scend, "/api/") == []
    assert served(scend, "/api/") == documented - inferred
    # With the config's inferred endpoint switched on it serves that one too, and off again it does not
    scend.stock_write_endpoint = "Product/ChannelStockLevels"
    assert served(scend, "/api/") == documented
    scend.stock_write_endpoint = None
    assert served(scend, "/api/") == documented - inferred
    cin7 = Cin7CoreSalesSimulator("a", "k", clock=clock)  # with sale creation (Cin7 Core as order target)
    assert routes_matching_no_row(cin7, "/ExternalApi/v2/") == []
    assert served(cin7, "/ExternalApi/v2/") == {(row.method, row.path) for row in endpoints("cin7_core")}
    # SFCC: every [V] row by default, the inferred price and product paths only once the settings name them
    documented = {(row.method, row.path) for row in endpoints("sfcc")}
    inferred = {(row.method, row.path) for row in endpoints("sfcc") if row.mark == "[I]"}
    sfcc = SfccSimulator("id", "secret", clock=clock)
    assert routes_matching_no_row(sfcc, "/") == []
    assert served(sfcc, "/") == documented - inferred
    sfcc.price_book_endpoint = "price_books/{price_book_id}/price_tables/{product_id}"
    sfcc.product_endpoint = "products/{product_id}"
    assert served(sfcc, "/") == documented
    sfcc.price_book_endpoint = None
    sfcc.product_endpoint = None
    assert served(sfcc, "/") == documented - inferred
