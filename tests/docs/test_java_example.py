"""docs/integrations.md's plain-JDK ErrlogReporter, run by `java` (single-file source launch) against a live
collector. Skipped where no JDK is installed."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from tests.docs.examples import block
from tests.docs.run import run

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="no JDK (java) on this machine")

DRIVER = textwrap.dedent(
    """
    public class DocsDriver {
        public static void main(String[] args) throws Exception {
            ErrlogReporter errlog = ErrlogReporter.fromEnvironment("orders");
            try {
                new OrderService().ship(42);
            } catch (IllegalStateException e) {
                int status = errlog.report(e, Map.of("path", "/api/orders/42/ship", "method", "POST", "user", "alice"))
                        .get();
                if (status != 200) {
                    System.err.println("errlog answered " + status);
                    System.exit(1);
                }
            }
            String tricky = "quote \\" backslash \\\\ newline \\n tab \\t bell \\u0007";
            System.out.println(ErrlogReporter.json(Map.of("s", tricky)));
        }
    }

    class OrderService {
        void ship(int id) {
            try {
                connect();
            } catch (java.io.IOException e) {
                throw new IllegalStateException("Order " + id + " cannot be shipped", e);
            }
        }

        void connect() throws java.io.IOException {
            throw new java.io.IOException("connection reset");
        }
    }
    """
)


def test_the_jdk_reporter_sends_the_exception_with_its_cause_chain(docs_project, tmp_path):
    reporter = docs_project.substitute(block("integrations.md", "java-reporter").text)
    lines = reporter.splitlines()
    imports = [line for line in lines if line.startswith("import ")]
    body = [line for line in lines if not line.startswith("import ")]
    # The source launcher runs the first class of the file, so the driver goes before the documented class.
    source = "\n".join([*imports, *DRIVER.splitlines(), *body]) + "\n"
    (tmp_path / "DocsDriver.java").write_text(source)
    output = run(["java", "DocsDriver.java"], cwd=tmp_path, env=docs_project.environment())

    assert '{"s":"quote \\" backslash \\\\ newline \\n tab \\t bell \\u0007"}' in output
    [error] = docs_project.errors("IllegalStateException")
    assert error["title"] == "IllegalStateException: Order 42 cannot be shipped"
    assert error["platform"] == "java" and error["environment"] == "production"
    [summary] = docs_project.events(error["id"])
    event = docs_project.event(summary["event_id"])
    assert event["source"] == "webhook:java" and summary["user_key"] == "username:alice"
    assert event["tags"]["service"] == "orders"
    values = event["payload"]["exception"]["values"]
    assert [(v["module"], v["type"]) for v in values] == [
        ("java.io", "IOException"),
        ("java.lang", "IllegalStateException"),
    ]
    frames = values[-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "ship" and frames[-1]["module"] == "OrderService"
    assert event["payload"]["request"] == {"url": "/api/orders/42/ship", "method": "POST"}
