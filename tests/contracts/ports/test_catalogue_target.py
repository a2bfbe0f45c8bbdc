"""CatalogueTarget: a product created is found by exactly its SKU, and an update changes only the fields named."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.connectors.spec import Role
from shared.models.product import Product
from shared.ports import CatalogueTarget
from tests.contracts.ports.worlds import Subject

ROLES = {Role.CATALOGUE_TARGET}


def product(sku: str, name: str, **fields: object) -> Product:
    return Product(
        source="contract",
        source_id=f"p-{sku}",
        sku=sku,
        name=name,
        updated_at=datetime(2026, 11, 23, 8, tzinfo=UTC),
        **fields,
    )  # type: ignore[arg-type]


def test_a_created_product_is_found_by_its_exact_sku(subject: Subject, unique: str) -> None:
    port: CatalogueTarget = subject.port
    sku = f"HOODIE-{unique}"
    assert port.find_product(sku) is None
    created = port.create_product(product(sku, f"Hoodie {unique}", barcode="5012345678900", weight_kg=Decimal("0.6")))
    found = port.find_product(sku)
    assert found is not None
    assert (found.item_id, found.sku) == (created.item_id, sku)
    assert found.fields["name"] == f"Hoodie {unique}"
    assert found.fields["barcode"] == "5012345678900"
    assert Decimal(found.fields["weight_kg"]) == Decimal("0.6")
    assert port.find_product(f"{sku}-XL") is None
    # Creating it again resolves to the item held
    assert port.create_product(product(sku, f"Hoodie {unique}")).item_id == created.item_id


def test_an_update_changes_only_the_fields_named(subject: Subject, unique: str) -> None:
    port: CatalogueTarget = subject.port
    sku = f"CAP-{unique}"
    created = port.create_product(product(sku, f"Cap {unique}", weight_kg=Decimal("0.2")))
    port.update_product(created, product(sku, f"Cap {unique} v2", weight_kg=Decimal("0.9")), ("name",))
    found = port.find_product(sku)
    assert found is not None
    assert found.fields["name"] == f"Cap {unique} v2"
    assert Decimal(found.fields["weight_kg"]) == Decimal("0.2")
