"""ISO 4217 minor units: how many decimals an amount in a currency carries (JPY 0, GBP 2, KWD 3).

Totals are compared "to the cent" only once each figure is at its currency's minor unit, so every money
rule that rounds asks this module for the quantum instead of assuming two decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 list one (2024): currencies whose minor unit is not 2. Every other active code has 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def _code(currency: str) -> str:
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return code


def minor_unit_exponent(currency: str) -> int:
    """Decimals of the currency's minor unit (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(_code(currency), 2)


def quantum(currency: str) -> Decimal:
    """One minor unit as a Decimal: Decimal('1') for JPY, Decimal('0.01') for GBP, Decimal('0.001') for KWD."""
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """The amount at the currency's minor unit, half away from zero (how shops and ERPs round money)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    """Integer minor units; refuses an amount finer than the minor unit rather than rounding it silently."""
    exponent = minor_unit_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is finer than its minor unit ({exponent} decimals)")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    """A Decimal in major units with exactly the currency's decimals."""
    return Decimal(units).scaleb(-minor_unit_exponent(currency)).quantize(quantum(currency))
