"""The JavaScript examples of docs/integrations.md run by Node.js against a live collector: the real @sentry/node from
npm (installed into tests/docs/js by `npm ci --prefix tests/docs/js`), and the browser reporter through the relay."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.docs.examples import ROOT, block
from tests.docs.run import free_port, run, wait_for_port

DOC = "integrations.md"
JS_DIR = ROOT / "tests" / "docs" / "js"
NODE_MODULES = JS_DIR / "node_modules"

pytestmark = [
    pytest.mark.skipif(
        shutil.which("node") is None, reason="Node.js is not installed: the JavaScript examples need it"
    ),
    pytest.mark.skipif(
        not (NODE_MODULES / "@sentry" / "node").is_dir(),
        reason="@sentry/node is not installed: run `npm ci --prefix tests/docs/js` (as .ci/run does)",
    ),
]


def project_dir(tmp_path: Path) -> Path:
    """A folder for the snippets that resolves packages from tests/docs/js, as an app folder resolves its own."""
    (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return tmp_path


def test_the_documented_sentry_node_version_is_the_one_installed_and_tested():
    installed = json.loads((NODE_MODULES / "@sentry" / "node" / "package.json").read_text())["version"]
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"]["@sentry/node"]
    assert installed == pinned
    assert block(DOC, "node-install").text == f"npm install @sentry/node@{pinned}"


def test_sentry_node_reports_handled_and_unhandled_errors_and_drops_client_mistakes(docs_project, tmp_path):
    folder = project_dir(tmp_path)
    (folder / "instrument.mjs").write_text(docs_project.substitute(block(DOC, "node-sentry").text))
    (folder / "app.mjs").write_text(
        textwrap.dedent(
            """
            import * as Sentry from "@sentry/node";

            Sentry.setUser({ id: "u-19" });
            Sentry.captureException(new Error("docs node example: charge failed"));
            const notFound = new Error("docs node example: no such order");
            notFound.status = 404;
            Sentry.captureException(notFound);
            await Sentry.flush(10000);
            setTimeout(() => {
              throw new TypeError("docs node example: unhandled");
            }, 0);
            """
        )
    )
    # The command the docs give; an unhandled exception ends the process with status 1 once it is sent.
    run(["node", "--import", "./instrument.mjs", "app.mjs"], cwd=folder, env=docs_project.environment(), expect=1)

    [handled] = docs_project.errors('"charge failed"')
    assert handled["platform"] == "node", handled["platform"]
    assert (handled["first_release"], handled["environment"]) == ("api@2.3.0", "production")
    assert handled["users_affected"] == 1
    [unhandled] = docs_project.wait_for_errors('"docs node example: unhandled"')
    assert unhandled["exception_type"] == "TypeError"
    assert docs_project.errors('"no such order"') == [], "beforeSend should drop errors with a 4xx status"


def test_the_browser_reporter_reaches_errlog_through_the_relay(docs_project, tmp_path):
    folder = project_dir(tmp_path)
    (folder / "relay.mjs").write_text(docs_project.substitute(block(DOC, "browser-relay").text))
    (folder / "errlog-report.mjs").write_text(block(DOC, "browser-reporter").text)
    port = free_port()
    # A page's globals, and its fetch resolving relative URLs against the page's origin (here: the relay's).
    (folder / "page.mjs").write_text(
        textwrap.dedent(
            """
            globalThis.location = { href: "https://shop.example.com/users" };
            Object.defineProperty(globalThis, "navigator", {
              value: { userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/122.0" },
              configurable: true,
            });
            const pageFetch = globalThis.fetch;
            globalThis.fetch = (url, init) => pageFetch(new URL(url, process.env.PAGE_ORIGIN), init);

            const { reportError, setErrlogUser } = await import("./errlog-report.mjs");
            setErrlogUser({ id: "u-19" });
            function renderUser(user) {
              return user.profile.id;
            }
            try {
              renderUser({});
            } catch (error) {
              await reportError(error, { tags: { locale: "de-DE" } });
            }
            await reportError("docs relay example: a plain rejection", { type: "unhandledrejection" });
            """
        )
    )
    env = docs_project.environment(PORT=str(port), PAGE_ORIGIN=f"http://127.0.0.1:{port}")
    relay = subprocess.Popen(["node", "relay.mjs"], cwd=folder, env=env, text=True)
    try:
        wait_for_port(port, relay)
        run(["node", "page.mjs"], cwd=folder, env=env)
        not_found = run(
            ["node", "-e", f"fetch('http://127.0.0.1:{port}/elsewhere').then(r => console.log(r.status))"],
            cwd=folder,
            env=env,
        )
    finally:
        relay.terminate()
        relay.wait(10)
    assert "404" in not_found

    [error] = docs_project.errors("TypeError")
    assert error["title"] == "TypeError: Cannot read properties of undefined (reading 'id')"
    assert error["platform"] == "javascript" and error["first_release"] == "web@1.8.0"
    [summary] = docs_project.events(error["id"])
    event = docs_project.event(summary["event_id"])
    assert event["source"] == "webhook:frontend" and summary["user_key"] == "id:u-19"
    assert event["tags"]["locale"] == "de-DE"
    assert event["payload"]["request"]["url"] == "https://shop.example.com/users"
    assert event["payload"]["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "renderUser"
    [rejection] = docs_project.errors('"a plain rejection"')
    assert rejection["exception_type"] == "UnhandledRejection"
