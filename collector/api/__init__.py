"""The REST API under /api/error-logging/. Importing the package is cheap: the resource modules load in `build_api`,
which the collector calls on the first API request (collector/api/lazy.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collector.api.framework import Api


def build_api() -> Api:
    """Every endpoint of the API, its resource modules imported now (collector/api/assembly.py)."""
    from collector.api.assembly import build_api as assemble

    return assemble()
