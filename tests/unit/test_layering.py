"""Platform knowledge stays in its connector package: no step, flow, model, store or handler imports one.
They reach platforms through ports (shared/ports.py) and the connectors' specs (shared/connectors/spec.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from shared.connectors import registry

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("shared/steps", "shared/flows", "shared/models", "shared/stores", "functions")


def platform_packages() -> set[str]:
    """Every package under shared/connectors/ that is a platform's (registered or not yet)."""
    found = {path.parent.name for path in (ROOT / "shared" / "connectors").glob("*/__init__.py")}
    assert set(registry.known()) <= found
    return {f"shared.connectors.{name}" for name in found}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_step_flow_model_store_or_handler_imports_a_connector_package() -> None:
    packages = platform_packages()
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for layer in LAYERS
        for path in (ROOT / layer).rglob("*.py")
        for name in imports_of(path)
        if any(name == package or name.startswith(f"{package}.") for package in packages)
    )
    assert offenders == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from shared.connectors.scend.client import ScendClient\n")
    assert "shared.connectors.scend.client" in imports_of(module)
