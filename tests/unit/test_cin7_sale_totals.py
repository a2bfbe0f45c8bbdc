"""The Cin7 Core sale body an SFCC order posts as: its lines and charges, summed as Cin7 sums them, equal the
order's total, tax and shipping to the minor unit, in the order's own currency (gross and net taxation,
discounts, several tax rates, currencies with 0, 2 and 3 decimals)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings

from shared.connectors.cin7_core.order_target import plan_for, sale_order, sale_totals
from shared.connectors.cin7_core.settings import Cin7SalesSettings
from shared.flows.totals import PostingRules
from shared.models import Order
from shared.models.currency import quantize
from tests.unit.test_totals import sfcc_orders


@settings(max_examples=200, deadline=None)
@given(sfcc_orders())
def test_the_sale_body_round_trips_the_order_totals_to_the_minor_unit(case: tuple[Order, PostingRules, int]) -> None:
    order, _, _ = case
    sales = Cin7SalesSettings(location="Main", tax_rule="VAT", max_rounding_minor_units=None)
    body = sale_order("00000000-0000-4000-8000-000000000001", plan_for(order, sales), sales)
    # Cin7's line arithmetic: Quantity x Price at the currency's minor unit; charges are quantity 1
    lines = [
        quantize(Decimal(str(line["Quantity"])) * Decimal(str(line["Price"])), order.currency) for line in body["Lines"]
    ]
    assert [Decimal(str(line["Total"])) for line in body["Lines"]] == lines
    charges = [{**charge, "Total": charge["Price"]} for charge in body["AdditionalCharges"]]
    sale = {
        "TaxCalculation": "Inclusive" if order.tax_inclusive else "Exclusive",
        "Order": {"Lines": body["Lines"], "AdditionalCharges": charges},
    }
    total, tax, shipping = sale_totals(sale, sales.shipping_product)
    assert (total, tax, shipping) == (order.total, order.tax_total, order.shipping_total)
