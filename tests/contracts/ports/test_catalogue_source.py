"""CatalogueSource: a product changed at the master is listed since that change; a row it cannot map comes
back as Rejected beside the others, never dropped."""

from __future__ import annotations

import json

from shared.connectors.spec import Role
from shared.models.feed import split
from shared.models.product import Product
from shared.ports import CatalogueSource
from tests.contracts.ports.worlds import CommerceWorld, Subject

ROLES = {Role.CATALOGUE_SOURCE}


def test_a_product_is_listed_after_since_and_not_before(subject: Subject, unique: str) -> None:
    port: CatalogueSource = subject.port
    world: CommerceWorld = subject.world
    before = subject.clock.now()
    subject.clock.advance(60)
    world.add_product(f"HOODIE-{unique}", f"Hoodie {unique}")
    subject.clock.advance(60)
    products, _ = split(port.products_changed_since(before))
    [product] = [p for p in products if p.sku == f"HOODIE-{unique}"]
    assert isinstance(product, Product)
    assert product.name == f"Hoodie {unique}"
    assert product.active
    assert before < product.updated_at <= subject.clock.now()
    later, _ = split(port.products_changed_since(subject.clock.now()))
    assert f"HOODIE-{unique}" not in {p.sku for p in later}


def test_an_unmappable_product_comes_back_as_rejected_and_the_rest_still_arrive(subject: Subject, unique: str) -> None:
    port: CatalogueSource = subject.port
    world: CommerceWorld = subject.world
    before = subject.clock.now()
    subject.clock.advance(60)
    world.add_unreadable_product(f"ODD-{unique}")
    world.add_product(f"GOOD-{unique}", f"Good {unique}")
    products, rejected = split(port.products_changed_since(before))
    assert f"GOOD-{unique}" in {p.sku for p in products}
    assert f"ODD-{unique}" not in {p.sku for p in products}
    [odd] = [r for r in rejected if f"ODD-{unique}" in json.dumps(r.row, default=str)]
    assert odd.detail
