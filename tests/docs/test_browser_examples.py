"""docs/integrations.md's React, Vue and Angular examples in a real browser: the SDK route (`Sentry.init` as
documented) and the webhook route (the framework's error hook with the browser reporter and its relay), bundled by
esbuild with the real SDKs and frameworks (tests/docs/js), served from one origin and run by headless Chromium
against the live collector on another origin, as a site and its error tracker are. Skipped where Chromium or the
npm packages are missing (.ci/run installs both)."""

from __future__ import annotations

import contextlib
import functools
import subprocess
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.browsers import CHROMIUM, browser_command
from tests.docs.examples import block
from tests.docs.run import free_port, wait_for_port
from tests.docs.test_js_examples import NODE_MODULES, project_dir

DOC = "integrations.md"
ESBUILD = NODE_MODULES / ".bin" / "esbuild"

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(
        not (NODE_MODULES / "@sentry" / "react").is_dir() or not ESBUILD.exists(),
        reason="@sentry/react or esbuild is not installed: run `npm ci --prefix tests/docs/js` (as .ci/run does)",
    ),
]


RELAY_PATH = "/internal/client-errors"  # the documented reporter's RELAY


class _SiteHandler(SimpleHTTPRequestHandler):
    """The site's files, and its relay path forwarded to the relay's port, as the documented reverse proxy does."""

    relay_port: int | None = None

    def do_POST(self) -> None:
        if self.path != RELAY_PATH or self.relay_port is None:
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        forward = urllib.request.Request(
            f"http://127.0.0.1:{self.relay_port}{RELAY_PATH}", data=body, method="POST",
            headers={"Content-Type": self.headers.get("Content-Type") or "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(forward, timeout=20) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1: the page's origin, not the collector's."""
    root = project_dir(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_SiteHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def open_in_chromium(url: str, profile: Path) -> str:
    """The page's DOM after it has run."""
    done = subprocess.run(
        browser_command("chromium", url, profile), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def build(root: Path, entry: str = "src/main.jsx") -> None:
    """`entry` to dist/app.js, and the page that loads it: what the documented Vite builds do, in esbuild's terms
    (one script, JSX, the build's import.meta.env, Vue's and Angular's compile-time flags)."""
    (root / "index.html").write_text(
        "<!doctype html><html><head><title>shop</title></head>"
        '<body><div id="root"></div><div id="app"></div><app-root></app-root><script src="/dist/app.js"></script>'
        "</body></html>"
    )
    defines = {
        "import.meta.env.VITE_RELEASE": '"web@1.8.0"', "import.meta.env.MODE": '"production"',
        "process.env.NODE_ENV": '"production"', "__VUE_OPTIONS_API__": "true", "__VUE_PROD_DEVTOOLS__": "false",
        "__VUE_PROD_HYDRATION_MISMATCH_DETAILS__": "false", "ngDevMode": "false", "ngServerMode": "false",
        "ngJitMode": "true", "ngI18nClosureMode": "false",
    }  # fmt: skip
    command = [
        str(ESBUILD), entry, "--bundle", "--format=iife", "--jsx=automatic", "--outfile=dist/app.js",
        "--loader:.vue=js", "--log-level=warning", *(f"--define:{name}={value}" for name, value in defines.items()),
    ]  # fmt: skip
    subprocess.run(command, cwd=root, check=True, timeout=120)


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


def the_render_error(docs_project: Any) -> dict[str, Any]:
    """The event of the one error the page's broken component made, as every example reports it (all examples
    build with release web@1.8.0 for production)."""
    [error] = docs_project.wait_for_errors("TypeError")
    assert error["title"] == "TypeError: Cannot read properties of undefined (reading 'length')"
    assert (error["platform"], error["first_release"], error["environment"]) == (
        "javascript",
        "web@1.8.0",
        "production",
    )
    [summary] = docs_project.events(error["id"])
    event: dict[str, Any] = docs_project.event(summary["event_id"])
    return event


def test_the_react_example_reports_a_render_error_from_a_real_browser(docs_project, site, tmp_path):
    root, origin = site
    src = root / "src"
    src.mkdir()
    (src / "instrument.js").write_text(docs_project.substitute(block(DOC, "react-sentry").text))
    (src / "main.jsx").write_text(block(DOC, "react-root").text + MAIN_TAIL)
    (src / "App.jsx").write_text(APP)
    build(root)

    dom = open_in_chromium(f"{origin}/index.html", tmp_path / "profile")
    assert "<title>sent</title>" in dom, dom

    event = the_render_error(docs_project)
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


@contextlib.contextmanager
def relay_beside(root: Path, docs_project: Any) -> Iterator[None]:
    """The documented Node relay running beside the site, which forwards the relay path to it."""
    port = free_port()
    (root / "relay.mjs").write_text(docs_project.substitute(block(DOC, "browser-relay").text))
    relay = subprocess.Popen(["node", "relay.mjs"], cwd=root, env=docs_project.environment(PORT=str(port)), text=True)
    _SiteHandler.relay_port = port
    try:
        wait_for_port(port, relay)
        yield
    finally:
        _SiteHandler.relay_port = None
        relay.terminate()
        relay.wait(10)


# The documented webhook route: src/main.jsx as the boundary's comment says, the reporter, the relay beside the site.
WEBHOOK_MAIN = textwrap.dedent(
    """
    import { createRoot } from "react-dom/client";
    import { ErrlogBoundary } from "./ErrlogBoundary";
    import { setErrlogUser } from "./errlog-report";
    import App from "./App";

    setErrlogUser({ id: "u-19" });
    createRoot(document.getElementById("root")).render(<ErrlogBoundary><App /></ErrlogBoundary>);
    setTimeout(() => {
      throw new RangeError("coupon expired");
    }, 0);
    Promise.reject("the payment sheet was closed");
    setTimeout(() => { document.title = "sent"; }, 1500);
    """
)


def test_the_react_webhook_example_reports_through_the_relay_from_a_real_browser(docs_project, site, tmp_path):
    root, origin = site
    src = root / "src"
    src.mkdir()
    (src / "errlog-report.js").write_text(block(DOC, "browser-reporter").text)
    (src / "ErrlogBoundary.jsx").write_text(block(DOC, "react-webhook").text)
    (src / "main.jsx").write_text(WEBHOOK_MAIN)
    (src / "App.jsx").write_text(APP)
    build(root)
    with relay_beside(root, docs_project):
        dom = open_in_chromium(f"{origin}/index.html", tmp_path / "profile")
    assert "Something went wrong" in dom and "<title>sent</title>" in dom, dom

    event = the_render_error(docs_project)
    assert event["source"] == "webhook:frontend" and event["payload"]["user"]["id"] == "u-19"
    assert event["payload"]["request"]["url"] == f"{origin}/index.html"
    assert "componentStack" in event["payload"]["extra"]
    frames = event["payload"]["exception"]["values"][-1]["stacktrace"]["frames"]
    assert (frames[-1]["function"], frames[-1]["filename"], frames[-1]["in_app"]) == ("Cart", "/dist/app.js", True)
    [thrown] = docs_project.wait_for_errors("RangeError")  # through window's error event
    assert thrown["title"] == "RangeError: coupon expired"
    [rejected] = docs_project.wait_for_errors('"payment sheet"')  # through unhandledrejection
    assert rejected["title"] == "UnhandledRejection: the payment sheet was closed"


# src/App.vue, written as the JavaScript module a .vue compiler would make of it (esbuild has no .vue compiler).
VUE_APP = textwrap.dedent(
    """
    import { h } from "vue";

    const Cart = {
      name: "Cart",
      props: ["cart"],
      render() {
        return h("p", `${this.cart.items.length} items in your cart`);
      },
    };

    export default { name: "App", render: () => h(Cart, { cart: {} }) };
    """
)
# The page's title once the reports are out (the reporters post at once; the SDKs send in the background).
MARK_SENT = textwrap.dedent(
    """
    setTimeout(() => { document.title = "sent"; }, 1500);
    """
)


def test_the_vue_example_reports_a_render_error_from_a_real_browser(docs_project, site, tmp_path):
    root, origin = site
    src = root / "src"
    src.mkdir()
    (src / "main.js").write_text(docs_project.substitute(block(DOC, "vue-sentry").text) + MARK_SENT)
    (src / "App.vue").write_text(VUE_APP)
    build(root, "src/main.js")
    dom = open_in_chromium(f"{origin}/index.html", tmp_path / "profile")
    assert "<title>sent</title>" in dom, dom

    event = the_render_error(docs_project)
    assert event["source"] == "sentry" and event["payload"]["sdk"]["name"] == "sentry.javascript.vue"
    assert event["payload"]["request"]["url"] == f"{origin}/index.html"
    frames = event["payload"]["exception"]["values"][-1]["stacktrace"]["frames"]
    assert (frames[-1]["function"], frames[-1]["in_app"]) == ("Proxy.render", True)


def test_the_vue_webhook_example_reports_through_the_relay_from_a_real_browser(docs_project, site, tmp_path):
    root, origin = site
    src = root / "src"
    src.mkdir()
    (src / "errlog-report.js").write_text(block(DOC, "browser-reporter").text)
    (src / "main.js").write_text(block(DOC, "vue-webhook").text + MARK_SENT)
    (src / "App.vue").write_text(VUE_APP)
    build(root, "src/main.js")
    with relay_beside(root, docs_project):
        dom = open_in_chromium(f"{origin}/index.html", tmp_path / "profile")
    assert "<title>sent</title>" in dom, dom

    event = the_render_error(docs_project)
    assert event["source"] == "webhook:frontend"
    assert event["payload"]["extra"]["vueInfo"] and event["payload"]["extra"]["component"] == "Cart"


# Angular: the CLI compiles components ahead of time; here Angular's compiler in the page (JIT) stands in for that
# step, the one line added before the documented src/main.ts.
ANGULAR_COMPONENT = textwrap.dedent(
    """
    import { Component } from "@angular/core";

    @Component({
      selector: "app-root",
      standalone: true,
      template: "<p>{{ cart.items.length }} items in your cart</p>",
    })
    export class AppComponent {
      cart: any = {};
    }
    """
)
ANGULAR_TSCONFIG = '{"compilerOptions": {"experimentalDecorators": true, "useDefineForClassFields": false}}'


def angular_app(root: Path, main: str, config: str) -> None:
    (root / "src" / "app").mkdir(parents=True, exist_ok=True)
    (root / "tsconfig.json").write_text(ANGULAR_TSCONFIG)
    (root / "src" / "main.ts").write_text('import "@angular/compiler";\n' + main + MARK_SENT)
    (root / "src" / "app" / "app.config.ts").write_text(config)
    (root / "src" / "app" / "app.component.ts").write_text(ANGULAR_COMPONENT)
    build(root, "src/main.ts")


def test_the_angular_example_reports_a_template_error_from_a_real_browser(docs_project, site, tmp_path):
    root, origin = site
    angular_app(root, docs_project.substitute(block(DOC, "angular-sentry").text), block(DOC, "angular-provider").text)
    dom = open_in_chromium(f"{origin}/index.html", tmp_path / "profile")
    assert 'ng-version="' in dom and "<title>sent</title>" in dom, dom

    event = the_render_error(docs_project)
    assert event["source"] == "sentry" and event["payload"]["sdk"]["name"] == "sentry.javascript.angular"
    assert event["payload"]["request"]["url"] == f"{origin}/index.html"
    frames = event["payload"]["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "AppComponent_Template"


# src/main.ts and src/app/app.config.ts of an app that provides the documented handler, as its comment says.
ANGULAR_WEBHOOK_MAIN = textwrap.dedent(
    """
    import { bootstrapApplication } from "@angular/platform-browser";
    import { AppComponent } from "./app/app.component";
    import { appConfig } from "./app/app.config";

    bootstrapApplication(AppComponent, appConfig).catch((error) => console.error(error));
    """
)
ANGULAR_WEBHOOK_CONFIG = textwrap.dedent(
    """
    import { ApplicationConfig, ErrorHandler } from "@angular/core";
    import { ErrlogErrorHandler } from "./errlog-error-handler";

    export const appConfig: ApplicationConfig = {
      providers: [{ provide: ErrorHandler, useClass: ErrlogErrorHandler }],
    };
    """
)


def test_the_angular_webhook_example_reports_through_the_relay_from_a_real_browser(docs_project, site, tmp_path):
    root, origin = site
    (root / "src" / "app").mkdir(parents=True)
    (root / "src" / "errlog-report.js").write_text(block(DOC, "browser-reporter").text)
    (root / "src" / "app" / "errlog-error-handler.ts").write_text(block(DOC, "angular-webhook").text)
    angular_app(root, ANGULAR_WEBHOOK_MAIN, ANGULAR_WEBHOOK_CONFIG)
    with relay_beside(root, docs_project):
        dom = open_in_chromium(f"{origin}/index.html", tmp_path / "profile")
    assert "<title>sent</title>" in dom, dom

    event = the_render_error(docs_project)
    assert event["source"] == "webhook:frontend" and event["tags"]["framework"] == "angular"
    assert (
        event["payload"]["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "AppComponent_Template"
    )
