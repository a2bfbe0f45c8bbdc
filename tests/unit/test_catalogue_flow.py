"""SKU fan-out decisions: format rules before transmission, and who owns which field after creation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.config import ClientConfig
from shared.flows.catalogue import SyncAction, already_synced, decide_sync, product_problems
from shared.models import ReasonCode
from shared.models.product import PRODUCT_FIELDS, Product, WarehouseProduct

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def product(**changes: object) -> Product:
    base: dict[str, object] = {
        "source": "cin7_core",
        "source_id": "p1",
        "sku": "HOODIE-GRN-L",
        "name": "Hoodie",
        "barcode": "5012345678900",
        "weight_kg": Decimal("0.65"),
        "updated_at": WHEN,
    }
    base.update(changes)
    return Product.model_validate(base)


def held(**fields: str) -> WarehouseProduct:
    current = {"name": "Hoodie", "barcode": "5012345678900", "weight_kg": "0.65"}
    current.update(fields)
    return WarehouseProduct(item_id="801", sku="HOODIE-GRN-L", fields=current)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sku": "HOODIE GRN L"}, ReasonCode.SKU_INVALID),
        ({"sku": "X" * 51}, ReasonCode.SKU_INVALID),
        ({"sku": " HOODIE"}, ReasonCode.SKU_INVALID),
        ({"name": " "}, ReasonCode.PRODUCT_INVALID),
        ({"barcode": "12345"}, ReasonCode.PRODUCT_INVALID),
        ({"barcode": "50123456789AB"}, ReasonCode.PRODUCT_INVALID),
    ],
)
def test_products_that_must_not_travel(changes: dict, reason: ReasonCode) -> None:
    [problem] = product_problems(product(**changes))
    assert problem.reason == reason
    assert decide_sync(product(**changes), None, {}).action == SyncAction.REJECT


@pytest.mark.parametrize("barcode", ["", "12345678", "012345678905", "5012345678900", "15012345678907"])
def test_valid_barcodes_pass(barcode: str) -> None:
    assert product_problems(product(barcode=barcode)) == []


def test_new_product_is_created_with_every_field(example_config: ClientConfig) -> None:
    decision = decide_sync(product(), None, example_config.catalogue.field_owners)
    assert decision.action == SyncAction.CREATE
    assert decision.fields == PRODUCT_FIELDS


def test_warehouse_owned_fields_are_never_updated(example_config: ClientConfig) -> None:
    # Given the warehouse re-weighed the item, and the source changed both name and weight
    owners = example_config.catalogue.field_owners
    decision = decide_sync(product(name="Hoodie v2", weight_kg=Decimal("0.9")), held(weight_kg="0.7"), owners)
    # Then only the source-owned name is sent
    assert decision.action == SyncAction.UPDATE
    assert decision.fields == ("name",)


def test_same_values_in_another_spelling_are_unchanged(example_config: ClientConfig) -> None:
    decision = decide_sync(product(weight_kg=Decimal("0.650")), held(), {"weight_kg": "source", "name": "source"})
    assert decision.action == SyncAction.UNCHANGED


def test_version_already_synced_needs_no_call() -> None:
    assert already_synced(product(), WHEN)
    assert already_synced(product(), WHEN + timedelta(seconds=1))
    assert not already_synced(product(), WHEN - timedelta(seconds=1))
    assert not already_synced(product(), None)


def test_unknown_field_in_ownership_config_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from shared.config import load_client_config
    from shared.errors import ConfigError
    from tests.conftest import EXAMPLE

    data = yaml.safe_load(EXAMPLE.read_text())
    data["pipelines"]["catalogue"]["field_owners"]["colour"] = "source"
    path = tmp_path / "example-cin7-scend.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(
        ConfigError, match=r"field 'pipelines.catalogue.field_owners'.*unknown product fields \['colour'\]"
    ):
        load_client_config(path)


def test_deprecated_product_is_never_created_but_an_existing_one_still_updates(example_config: ClientConfig) -> None:
    owners = example_config.catalogue.field_owners
    assert decide_sync(product(active=False), None, owners).action == SyncAction.UNCHANGED
    assert decide_sync(product(active=False, name="Old hoodie"), held(), owners).action == SyncAction.UPDATE


@pytest.mark.parametrize("field", PRODUCT_FIELDS)
def test_an_update_carries_a_field_only_when_its_owner_is_the_source(field: str) -> None:
    """Per field, both ways: owned by the source it is sent when it differs; owned by the target never."""
    held = {name: "held elsewhere" for name in PRODUCT_FIELDS} | {
        name: "1" for name in ("weight_kg", "length_cm", "width_cm", "height_cm")
    }
    changed = {"weight_kg": Decimal(2), "length_cm": Decimal(2), "width_cm": Decimal(2), "height_cm": Decimal(2)}
    item = Product(
        source="cin7_core",
        source_id="p-1",
        sku="TEE-1",
        name="from the source",
        barcode="5012345678900",
        commodity_code="620343",
        country_of_origin="MA",
        customs_description="from the source",
        updated_at=datetime(2026, 11, 23, tzinfo=UTC),
        **changed,
    )
    existing = WarehouseProduct(item_id="9", sku="TEE-1", fields=held)
    for owner, expected in (("source", (field,)), ("warehouse", ())):
        owners = {name: ("warehouse" if name != field else owner) for name in PRODUCT_FIELDS}
        decision = decide_sync(item, existing, owners)
        assert decision.fields == expected
        assert decision.action == (SyncAction.UPDATE if expected else SyncAction.UNCHANGED)


def test_the_sku_audit_compares_exactly_both_ways_and_flags_stock_ahead_of_the_item() -> None:
    from shared.flows.catalogue import audit_skus

    audit = audit_skus(shop={"TEE-1", "tee-2", "CAP"}, stocked={"CAP", "tee-2"}, warehouse={"TEE-1", "TEE-2", "OLD"})
    assert audit.missing_at_warehouse == ("CAP", "tee-2")  # spelled differently is missing
    assert audit.missing_at_shop == ("OLD", "TEE-2")
    assert audit.stocked_before_item == ("CAP", "tee-2")
    assert audit.gaps == 6
