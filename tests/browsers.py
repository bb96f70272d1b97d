"""Headless browsers the tests open pages in, where installed (.ci/run installs Debian's chromium and firefox-esr)."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")


def browser_command(browser: str, url: str, profile: Path) -> list[str]:
    """A command that opens `url`, runs the page and ends. Chromium prints the page's DOM after it has run, with
    virtual time (it waits for pending requests); Firefox has no such mode and takes a screenshot instead."""
    if browser == "chromium":
        assert CHROMIUM is not None
        return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
                "--virtual-time-budget=15000", "--dump-dom", url]  # fmt: skip
    assert FIREFOX is not None
    profile.mkdir(exist_ok=True)
    return [FIREFOX, "--headless", "--no-remote", "--profile", str(profile), "--screenshot", str(profile / "page.png"),
            url]  # fmt: skip
