"""The checks that keep the code in shape run with the tests: ruff, the import-layer contracts, mypy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # lint-imports has no `python -m` entry; use the script installed beside this interpreter.
    command = (
        [str(Path(sys.executable).parent / args[0]), *args[1:]]
        if args[0] == "lint-imports"
        else [sys.executable, "-m", *args]
    )
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("lint-imports", "--no-cache"),
        ("mypy",),
    ],
    ids=["ruff-lint", "ruff-format", "import-layers", "mypy"],
)
def test_code_quality(command: tuple[str, ...]) -> None:
    result = run(*command)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
