"""Names derived from topology names: construct ids and the physical names ops staff look for."""

from __future__ import annotations


def pascal(name: str) -> str:
    """'order-intake' or 'order_intake' -> 'OrderIntake' (construct ids and output keys)."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-") if part)


def kebab(name: str) -> str:
    """'order_intake' -> 'order-intake' (AWS resource names)."""
    return name.replace("_", "-")


def physical_name(client: str, name: str) -> str:
    """The name a resource carries in the console: hopline-<client>-<name>."""
    return f"hopline-{client}-{kebab(name)}"
