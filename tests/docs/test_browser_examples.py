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
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.browsers import CHROMIUM, FIREFOX, browser_command
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
_PIXEL = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


class _SiteHandler(SimpleHTTPRequestHandler):
    """The site's files, and its relay path forwarded to the relay's port, as the documented reverse proxy does.
    Also `/hold`, an image answered only once the page has fetched `/sent`: a page that shows it does not finish
    loading before then, so Firefox, which ends at the page's load event, stays until the SDK has sent everything."""

    relay_port: int | None = None
    sent = threading.Event()

    def do_GET(self) -> None:
        if self.path == "/sent":
            type(self).sent.set()
            self.send_response(204)
            self.end_headers()
        elif self.path == "/hold":
            type(self).sent.wait(30)
            self.send_response(200)
            self.send_header("Content-Type", "image/svg+xml")
            self.send_header("Content-Length", str(len(_PIXEL)))
            self.end_headers()
            self.wfile.write(_PIXEL)
        else:
            super().do_GET()

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
    _SiteHandler.sent.clear()
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


def build(root: Path, entry: str = "src/main.jsx", body: str = "") -> None:
    """`entry` to dist/app.js, and the page that loads it (with `body` before the script): what the documented Vite
    builds do, in esbuild's terms (one script, JSX, the build's import.meta.env, Vue's and Angular's compile-time
    flags)."""
    (root / "index.html").write_text(
        "<!doctype html><html><head><title>shop</title></head>"
        f'<body>{body}<div id="root"></div><div id="app"></div><app-root></app-root>'
        '<script src="/dist/app.js"></script></body></html>'
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


# After `import "./instrument";` (the documented module), a page whose script fails in the ways a site's does: a
# method throwing in a click handler, an async function rejecting, a rejection with a plain string, an error caught and
# reported, and the same condition reported twice as a message with different numbers.
JAVASCRIPT_MAIN = textwrap.dedent(
    """
    import "./instrument";
    import * as Sentry from "@sentry/browser";

    class CartView {
      constructor(cart) {
        this.cart = cart;
      }
      render() {
        return `${this.cart.items.length} items`;
      }
    }
    function checkout(cart) {
      return new CartView(cart).render();
    }
    async function pay(order) {
      await null;
      throw new Error("payment declined");
    }

    Sentry.setUser({ id: "u-7" });
    Sentry.setTag("checkout", "v2");
    console.log("cart loaded");
    const buy = document.getElementById("buy");
    buy.addEventListener("click", () => checkout(undefined));
    // Apart in time: right after an error it rethrows, the SDK ignores the page's next error events for a moment.
    setTimeout(() => buy.click(), 0);
    setTimeout(() => { pay(98311); }, 100);
    setTimeout(() => { Promise.reject("the payment sheet was closed"); }, 200);
    setTimeout(() => {
      throw new Error("ResizeObserver loop completed with undelivered notifications");
    }, 300);
    try {
      JSON.parse("{oops");
    } catch (error) {
      Sentry.captureException(error);
    }
    Sentry.captureMessage("Coupon 4411 rejected for order 98311", "warning");
    Sentry.captureMessage("Coupon 5120 rejected for order 11873", "warning");
    setTimeout(() => Sentry.flush(5000).then(() => { document.title = "sent"; return fetch("/sent"); }), 800);
    """
)


@pytest.mark.skipif(FIREFOX is None, reason="Firefox is not installed (apt-get install firefox-esr)")
def test_the_javascript_example_reports_from_chromium_and_firefox_as_the_same_errors(docs_project, site, tmp_path):
    root, origin = site
    src = root / "src"
    src.mkdir()
    (src / "instrument.js").write_text(docs_project.substitute(block(DOC, "javascript-sentry").text))
    (src / "main.js").write_text(JAVASCRIPT_MAIN)
    build(root, "src/main.js", body='<button id="buy">Buy</button><img src="/hold" alt="">')

    for browser in ("chromium", "firefox"):
        _SiteHandler.sent.clear()
        command = browser_command(browser, f"{origin}/index.html", tmp_path / f"{browser}-profile")
        subprocess.run(command, capture_output=True, timeout=120, check=True)
        assert _SiteHandler.sent.is_set(), f"{browser}: the page never finished sending"
    deadline = time.monotonic() + 20  # the SDKs' sends may still be on their way when the browser ends
    while sum(error["times_seen"] for error in docs_project.errors()) < 12 and time.monotonic() < deadline:
        time.sleep(0.2)

    # One error per bug, each seen once from each browser (the two messages twice): grouping does not depend on
    # how the browser writes its stack or its message.
    errors = {error["exception_type"] or "message": error for error in docs_project.errors()}
    seen = {name: (error["times_seen"], error["users_affected"]) for name, error in errors.items()}
    assert seen == {
        "TypeError": (2, 1),
        "Error": (2, 1),
        "UnhandledRejection": (2, 1),
        "SyntaxError": (2, 1),
        "message": (4, 1),
    }, seen
    assert errors["Error"]["title"] == "Error: payment declined"
    assert errors["SyntaxError"]["culprit"] == f"?({origin}/dist/app.js)"  # the page's code, not JSON.parse
    assert errors["UnhandledRejection"]["title"] == (
        "UnhandledRejection: Non-Error promise rejection captured with value: the payment sheet was closed"
    )
    assert errors["message"]["title"].startswith("Coupon ") and errors["message"]["severity"] == "medium"
    assert docs_project.errors("ResizeObserver") == [], "the documented ignoreErrors should drop it"

    events = [docs_project.event(e["event_id"]) for e in docs_project.events(errors["TypeError"]["id"])]
    agents = [event["payload"]["request"]["headers"]["User-Agent"] for event in events]
    assert sorted(("Firefox/" in agent, "HeadlessChrome/" in agent) for agent in agents) == [(0, 1), (1, 0)], agents
    for event in events:
        payload = event["payload"]
        assert (event["source"], payload["sdk"]["name"]) == ("sentry", "sentry.javascript.browser")
        assert (event["release"], event["environment"], event["tags"]) == (
            "web@1.8.0",
            "production",
            {"checkout": "v2"},
        )
        assert payload["request"]["url"] == f"{origin}/index.html"
        [exception] = payload["exception"]["values"]
        assert exception["mechanism"]["handled"] is False  # thrown in a click handler, nobody caught it
        in_app = [frame for frame in exception["stacktrace"]["frames"] if frame.get("in_app")]
        assert [frame["function"].rsplit(".", 1)[-1] for frame in in_app[-2:]] == ["checkout", "render"], in_app
        crumbs = [crumb.get("message") for crumb in payload["breadcrumbs"]["values"] if crumb["category"] == "console"]
        assert "cart loaded" in crumbs


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
