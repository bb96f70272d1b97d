"""Task tests: Huey in immediate mode, the tasks' settings and database pointed at the test's, stand-in services."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from errlog.settings import Settings, load_settings
from tasks.queue import huey, runtime
from tests.tasks.receivers import Inbox, Receiver, closed_port_url

REDIS_URL = os.environ.get("ERRLOG_TEST_REDIS_URL")


@pytest.fixture(autouse=True)
def immediate_tasks() -> Iterator[None]:
    """Tasks run where they are enqueued (scheduled retries are kept, not run); the tasks' database is closed
    after each test so PostgreSQL can be truncated for the next."""
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = False
        runtime.configure(None)


@pytest.fixture
def configure_tasks(database_url: str) -> Callable[..., Settings]:
    """`configure_tasks(webhook_url=..., ...)`: the settings the tasks run with, on the test database."""

    def configure(**overrides: Any) -> Settings:
        # ntfy works without credentials, so it is always on: keep tests from ever reaching the real ntfy.sh.
        overrides.setdefault("ntfy_url", closed_port_url())
        settings = load_settings(database_url=database_url, **overrides)
        runtime.configure(settings)
        return settings

    return configure


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key), made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed: no certificate for the TLS tests")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server_tls(tls_certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_certificate)
    return context


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("ERRLOG_TEST_REDIS_URL is not set: no Redis to test against")
    return REDIS_URL
