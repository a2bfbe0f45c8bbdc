"""Lambda assets built on this machine, without Docker: one code asset and one dependency layer.

Both assets carry a custom hash computed from their inputs, so CDK never fingerprints the repository
(which holds .venv and node_modules) and re-uses a bundle already in cdk.out when nothing changed.
The .pyc files are compiled with Python 3.12 in `unchecked-hash` mode: CDK zips every file with a
fixed 1980 timestamp, which would make timestamp-checked .pyc files look stale, and Lambda cannot
write new ones, so every cold start would compile from source again.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
# The only packages the functions import at run time; tests, infra and sandbox stay out of the bundle.
CODE_PACKAGES: tuple[str, ...] = ("functions", "shared")
REQUIREMENTS = REPO_ROOT / "requirements.txt"
LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
# The Lambda Python runtime ships these; a second copy would only add megabytes.
# urllib3, dateutil and six are in the layer only as botocore's dependencies; the runtime has them too.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "python_dateutil", "six")
PYTHON312_ENV = "HOPLINE_PYTHON312"
# Bump when the bundling steps change, so cached assets in cdk.out are rebuilt.
BUNDLER_VERSION = "3"
# Powertools utilities no hop imports (tests/unit/test_layer_trim.py checks the code never names them).
_UNUSED_UTILITIES = ("streaming", "data_masking", "circuit_breaker", "feature_flags", "kafka", "auth_alpha")
UNUSED_IN_LAYER = (*(f"aws_lambda_powertools/utilities/{name}" for name in _UNUSED_UTILITIES), "wrapt-stubs")
_SKIPPED_NAMES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
# Never executed: CDK requires an image for bundling options, and the local bundler always answers.
_UNUSED_IMAGE = cdk.DockerImage.from_registry("public.ecr.aws/sam/build-python3.12")


def find_python312() -> str | None:
    """Locate a working Python 3.12: $HOPLINE_PYTHON312, then pyenv's installs, then PATH.

    Each candidate is run once, because a pyenv shim exists on PATH even when 3.12 is not selected.
    """
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [
        os.environ.get(PYTHON312_ENV),
        *sorted(
            glob.glob(f"{pyenv_root}/versions/{LAMBDA_PYTHON_VERSION}*/bin/python{LAMBDA_PYTHON_VERSION}"), reverse=True
        ),
        shutil.which(f"python{LAMBDA_PYTHON_VERSION}"),
    ]
    for candidate in candidates:
        if candidate and _is_python312(candidate):
            return candidate
    return None


def _is_python312(executable: str) -> bool:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip() == LAMBDA_PYTHON_VERSION


def precompile(directory: Path) -> bool:
    """Write .pyc files for Python 3.12 next to the sources; warn and skip when no 3.12 is installed."""
    python312 = find_python312()
    if python312 is None:
        warnings.warn(
            f"no python{LAMBDA_PYTHON_VERSION} found (set {PYTHON312_ENV}); the Lambda bundle ships without "
            "precompiled .pyc files and every cold start compiles from source",
            stacklevel=2,
        )
        return False
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [python312, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(directory)],
        check=True,
    )
    return True


def precompile_sourceless(directory: Path) -> bool:
    """The layer's third-party code as .pyc alone, where each .py was: half the unzipped size of sources plus
    __pycache__, and nothing to compile at a cold start. Tracebacks inside a library show no source line;
    our own code (the code asset) keeps its sources. Without a Python 3.12 the sources stay, uncompiled."""
    python312 = find_python312()
    if python312 is None:
        return precompile(directory)
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [python312, "-m", "compileall", "-q", "-b", "-j", "0", "--invalidation-mode", "unchecked-hash", str(directory)],
        check=True,
    )
    for source in directory.rglob("*.py"):
        if source.with_suffix(".pyc").is_file():
            source.unlink()
    for cache in [*directory.rglob("__pycache__")]:
        shutil.rmtree(cache, ignore_errors=True)
    return True


def _source_files(root: Path, packages: Iterable[str]) -> list[Path]:
    files = []
    for package in packages:
        base = root / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            relative = path.relative_to(root)
            if (
                path.is_file()
                and not _SKIPPED_NAMES.intersection(relative.parts)
                and path.suffix not in _SKIPPED_SUFFIXES
            ):
                files.append(path)
    return files


def code_hash(root: Path = REPO_ROOT, packages: Iterable[str] = CODE_PACKAGES) -> str:
    digest = hashlib.sha256(f"code:{BUNDLER_VERSION}:{LAMBDA_PYTHON_VERSION}".encode())
    for path in _source_files(root, packages):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def layer_hash(requirements: Path = REQUIREMENTS) -> str:
    digest = hashlib.sha256(f"layer:{BUNDLER_VERSION}:{LAMBDA_PYTHON_VERSION}:{LAMBDA_PLATFORM}".encode())
    digest.update(requirements.read_bytes())
    return digest.hexdigest()


@jsii.implements(cdk.ILocalBundling)
class CodeBundler:
    """Copies functions/ and shared/ (whatever exists of them) and precompiles them for 3.12."""

    def __init__(self, root: Path = REPO_ROOT, packages: Iterable[str] = CODE_PACKAGES) -> None:
        self._root = root
        self._packages = tuple(packages)

    def try_bundle(self, output_dir: str, _options: object = None) -> bool:
        out = Path(output_dir)
        for path in _source_files(self._root, self._packages):
            target = out / path.relative_to(self._root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        precompile(out)
        return True


@jsii.implements(cdk.ILocalBundling)
class LayerBundler:
    """pip-installs requirements.txt as arm64 wheels for 3.12 into python/, minus what Lambda provides."""

    def __init__(self, requirements: Path = REQUIREMENTS, platform: str = LAMBDA_PLATFORM) -> None:
        self._requirements = requirements
        self._platform = platform  # x86_64 only for measuring imports on an x86 host (benchmarks/)

    def try_bundle(self, output_dir: str, _options: object = None) -> bool:
        target = Path(output_dir) / "python"
        subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(self._requirements),
                "--target",
                str(target),
                "--platform",
                self._platform,
                "--python-version",
                LAMBDA_PYTHON_VERSION,
                "--implementation",
                "cp",
                "--only-binary=:all:",
                "--no-compile",
            ],
            check=True,
        )
        for pattern in RUNTIME_PROVIDED:
            for path in [*target.glob(pattern), *target.glob(f"{pattern}.py"), *target.glob(f"{pattern}-*.dist-info")]:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        shutil.rmtree(target / "bin", ignore_errors=True)
        for unused in UNUSED_IN_LAYER:
            shutil.rmtree(target / unused, ignore_errors=True)
        # pip's own install record: nothing reads it at run time (METADATA stays, for package versions).
        for record in target.glob("*.dist-info/RECORD"):
            record.unlink()
        precompile_sourceless(target)
        return True


def code_asset() -> lambda_.Code:
    """The one code asset every hop shares: its handler string picks the hop."""
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=code_hash(),
        bundling=cdk.BundlingOptions(image=_UNUSED_IMAGE, local=CodeBundler()),
    )


def layer_asset() -> lambda_.Code:
    """The dependency layer: requirements.txt resolved for arm64 Lambda, Python 3.12."""
    return lambda_.Code.from_asset(
        str(REQUIREMENTS.parent),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=layer_hash(),
        bundling=cdk.BundlingOptions(image=_UNUSED_IMAGE, local=LayerBundler()),
    )


def _tree_size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


class _Bundler(Protocol):
    def try_bundle(self, output_dir: str, _options: object = None) -> bool: ...


def _assets() -> list[tuple[str, Callable[[], str], _Bundler]]:
    return [("code", code_hash, CodeBundler()), ("layer", layer_hash, LayerBundler())]


def main(out: Path = REPO_ROOT / ".build", assets: list[tuple[str, Callable[[], str], _Bundler]] | None = None) -> None:
    """`python -m infra.bundling`: build both assets into .build/ (the same steps `cdk synth` runs).

    An asset whose inputs hash as they did when it was last built here is left as it is (the hash is
    the one CDK names the asset by), so a second `make bundle` costs a hash instead of a pip install."""
    for name, input_hash, bundler in assets if assets is not None else _assets():
        target = out / name
        stamp = out / f"{name}.hash"
        wanted = input_hash()
        if target.is_dir() and stamp.is_file() and stamp.read_text() == wanted:
            print(f"{target}: {_tree_size(target) / 1_000_000:.1f} MB unzipped (up to date)")
            continue
        stamp.unlink(missing_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        bundler.try_bundle(str(target))
        stamp.write_text(wanted)
        print(f"{target}: {_tree_size(target) / 1_000_000:.1f} MB unzipped")


if __name__ == "__main__":
    main()
