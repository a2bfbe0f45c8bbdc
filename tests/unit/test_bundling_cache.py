"""`make bundle` rebuilds an asset only when its inputs changed: the hash CDK names it by is kept beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import bundling


class CountingBundler:
    def __init__(self) -> None:
        self.runs = 0

    def try_bundle(self, output_dir: str, _options: object = None) -> bool:
        self.runs += 1
        (Path(output_dir) / "module.py").write_text(f"RUN = {self.runs}\n")
        return True


def test_an_asset_is_rebuilt_only_when_its_inputs_hash_differently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundler = CountingBundler()
    inputs = {"hash": "a"}
    assets = [("code", lambda: inputs["hash"], bundler)]
    bundling.main(tmp_path, assets)  # type: ignore[arg-type]
    bundling.main(tmp_path, assets)  # type: ignore[arg-type]
    assert bundler.runs == 1
    assert "(up to date)" in capsys.readouterr().out
    inputs["hash"] = "b"
    bundling.main(tmp_path, assets)  # type: ignore[arg-type]
    assert bundler.runs == 2
    assert (tmp_path / "code" / "module.py").read_text() == "RUN = 2\n"
    # A build that died half-way leaves no stamp, so the next run builds again.
    (tmp_path / "code.hash").unlink()
    bundling.main(tmp_path, assets)  # type: ignore[arg-type]
    assert bundler.runs == 3
