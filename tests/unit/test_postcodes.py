"""Postcode formats per country, including property checks on generated valid GB postcodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.flows.postcodes import postcode_valid


@pytest.mark.parametrize(
    ("country", "postcode", "valid"),
    [
        ("GB", "LS1 1AA", True),
        ("GB", "ls11aa", True),
        ("GB", "SW1A 1AA", True),
        ("GB", "EC1V 9HX", True),
        ("GB", "M1 1AE", True),
        ("GB", "GIR 0AA", True),
        ("GB", "LS1", False),
        ("GB", "12345", False),
        ("GB", "ZZ99 9ZZZ", False),
        ("GB", "", False),
        ("IE", "D02 X285", True),
        ("IE", "A65F4E2", True),
        ("IE", "D02", False),
        ("US", "10001", True),
        ("US", "10001-1234", True),
        ("US", "1000", False),
        ("AU", "2000", True),
        ("NL", "1012 AB", True),
        ("CA", "K1A 0B1", True),
        ("ZZ", "anything", True),
        ("HK", "", True),
    ],
)
def test_postcode_formats(country: str, postcode: str, valid: bool) -> None:
    assert postcode_valid(country, postcode) is valid


@given(
    area=st.sampled_from(["LS", "M", "SW", "B", "EC", "G"]),
    district=st.integers(min_value=1, max_value=99),
    sector=st.integers(min_value=0, max_value=9),
    unit=st.text(alphabet="ABDEFGHJLNPQRSTUWXYZ", min_size=2, max_size=2),
)
def test_generated_gb_postcodes_validate_with_or_without_space(
    area: str, district: int, sector: int, unit: str
) -> None:
    postcode = f"{area}{district} {sector}{unit}"
    assert postcode_valid("GB", postcode)
    assert postcode_valid("GB", postcode.replace(" ", "").lower())
