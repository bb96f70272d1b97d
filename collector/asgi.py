"""The app as uvicorn imports it in each worker process: settings read from the environment."""

from __future__ import annotations

from starlette.applications import Starlette

from collector.app import create_app
from errlog.settings import load_settings


def app_from_environment() -> Starlette:
    return create_app(load_settings())
