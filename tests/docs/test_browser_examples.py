"""docs/integrations.md's React example in a real browser: the documented `src/instrument.js` and `src/main.jsx`,
bundled by esbuild with the real @sentry/react and React 19 (tests/docs/js), served from one origin and run by
headless Chromium against the live collector on another origin, as a site and its error tracker are. Skipped where
Chromium or the npm packages are missing (.ci/run installs both)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import textwrap
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.docs.examples import block
from tests.docs.test_js_examples import NODE_MODULES, project_dir

DOC = "integrations.md"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ESBUILD = NODE_MODULES / ".bin" / "esbuild"

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(
        not (NODE_MODULES / "@sentry" / "react").is_dir() or not ESBUILD.exists(),
        reason="@sentry/react or esbuild is not installed: run `npm ci --prefix tests/docs/js` (as .ci/run does)",
    ),
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1: the page's origin, not the collector's."""
    root = project_dir(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def open_in_chromium(url: str, profile: Path) -> str:
    """The page's DOM after it has run: headless Chromium with virtual time, which waits for pending requests."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
        "--virtual-time-budget=15000", "--dump-dom", url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


APP = textwrap.dedent(
    """
    function Cart({ cart }) {
      return <p>{cart.items.length} items in your cart</p>;
    }

    export default function App() {
      return <Cart cart={{}} />;
    }
    """
)

# After the documented lines of src/main.jsx: noise the documented ignoreErrors must drop, then a mark on the page
# once the SDK has sent everything.
MAIN_TAIL = textwrap.dedent(
    """
    setTimeout(() => {
      throw new Error("ResizeObserver loop completed with undelivered notifications");
    }, 0);
    setTimeout(() => Sentry.flush(5000).then(() => { document.title = "sent"; }), 500);
    """
)


def test_the_react_example_reports_a_render_error_from_a_real_browser(docs_project, site, tmp_path):
    root, origin = site
    src = root / "src"
    src.mkdir()
    (src / "instrument.js").write_text(docs_project.substitute(block(DOC, "react-sentry").text))
    (src / "main.jsx").write_text(block(DOC, "react-root").text + MAIN_TAIL)
    (src / "App.jsx").write_text(APP)
    (root / "index.html").write_text(
        "<!doctype html><html><head><title>shop</title></head>"
        '<body><div id="root"></div><script src="/dist/app.js"></script></body></html>'
    )
    # What the documented Vite build does, in esbuild's terms: one script, JSX, the build's import.meta.env.
    command = [
        str(ESBUILD), "src/main.jsx", "--bundle", "--format=iife", "--jsx=automatic", "--outfile=dist/app.js",
        "--define:import.meta.env.VITE_RELEASE=\"web@1.8.0\"", "--define:import.meta.env.MODE=\"production\"",
        "--log-level=warning",
    ]  # fmt: skip
    subprocess.run(command, cwd=root, check=True, timeout=120)

    dom = open_in_chromium(f"{origin}/index.html", tmp_path / "profile")
    assert "<title>sent</title>" in dom, dom

    [error] = docs_project.wait_for_errors("TypeError")
    assert error["title"] == "TypeError: Cannot read properties of undefined (reading 'length')"
    assert (error["platform"], error["first_release"], error["environment"]) == (
        "javascript",
        "web@1.8.0",
        "production",
    )
    [summary] = docs_project.events(error["id"])
    event = docs_project.event(summary["event_id"])
    assert event["source"] == "sentry" and event["payload"]["sdk"]["name"] == "sentry.javascript.react"
    assert event["payload"]["request"]["url"] == f"{origin}/index.html"
    assert "HeadlessChrome" in event["payload"]["request"]["headers"]["User-Agent"]
    frames = event["payload"]["exception"]["values"][-1]["stacktrace"]["frames"]
    assert (frames[-1]["function"], frames[-1]["filename"], frames[-1]["in_app"]) == (
        "Cart",
        f"{origin}/dist/app.js",
        True,
    )
    assert docs_project.errors("ResizeObserver") == [], "the documented ignoreErrors should drop it"
