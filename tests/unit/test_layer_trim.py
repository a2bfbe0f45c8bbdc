"""The layer leaves out Powertools utilities: only while no code the functions run imports one of them."""

from __future__ import annotations

from pathlib import Path

from infra.bundling import CODE_PACKAGES, REPO_ROOT, UNUSED_IN_LAYER


def test_no_bundled_code_imports_what_the_layer_leaves_out() -> None:
    left_out = [path.replace("/", ".") for path in UNUSED_IN_LAYER if path.startswith("aws_lambda_powertools/")]
    assert left_out
    for package in CODE_PACKAGES:
        for source in (REPO_ROOT / package).rglob("*.py"):
            text = Path(source).read_text()
            for module in left_out:
                assert module not in text, f"{source} imports {module}, which the layer leaves out"
