"""Stack traces printed by the real runtimes (Node.js, the JVM, PHP, Chromium and Firefox), read back: the text
parsers must give each exception of the chain the frames the runtime itself reports for it, elided ones included.
Skipped where a runtime is not installed; .ci/run installs PHP, Monolog, logback, Chromium and Firefox ESR, this
machine kind has Node.js and a JDK."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import textwrap
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from collector.grouping import components
from collector.stacktraces import parse_java, parse_javascript, parse_php, parse_stacktrace, php_frames_from_backtrace
from tests.browsers import CHROMIUM, FIREFOX, browser_command

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
needs_jdk = pytest.mark.skipif(
    shutil.which("javac") is None or shutil.which("java") is None, reason="a JDK (javac, java) is not installed"
)


FRAME_KEYS = ("function", "module", "filename", "abs_path", "lineno", "colno", "in_app")


def frame_keys(value: dict[str, Any], *keys: str) -> list[tuple[Any, ...]]:
    frames = value["stacktrace"]["frames"] if value["stacktrace"] else []
    return [tuple(frame[k] for k in keys) for frame in frames]


# --- Node.js ---------------------------------------------------------------------------------------

NODE_SCRIPT = textwrap.dedent(
    """
    const util = require("util");
    function parseConfig() { JSON.parse("{bad"); }
    function loadConfig() {
      try { parseConfig(); } catch (e) { throw new Error("config load failed", { cause: e }); }
    }
    function start() {
      try { loadConfig(); } catch (e) {
        throw new AggregateError([new RangeError("port out of range"), e], "startup failed", { cause: e });
      }
    }
    let top;
    try { start(); } catch (e) { top = e; }
    const chain = [];
    for (let e = top; e; e = e.cause) chain.push({ stack: e.stack });
    console.log(JSON.stringify({
      inspect: util.inspect(top) + "\\n" + new TypeError("an unrelated error after it").stack,
      // VError's fullStack and pino's err serializer join the stacks with "caused by:" lines.
      causedBy: chain.map((c) => c.stack).join("\\ncaused by: "),
      chain,
    }));
    """
)


@pytest.fixture(scope="module")
def node_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    script = tmp_path_factory.mktemp("node") / "startup.js"
    script.write_text(NODE_SCRIPT)
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def expected_chain(node_output: dict[str, Any]) -> list[dict[str, Any]]:
    """Each error's own `.stack`, read alone (never elided), in Sentry's order: the innermost cause first."""
    values = []
    for printed in node_output["chain"]:
        [value] = parse_javascript(printed["stack"])
        values.append(value)
    return values[::-1]


@needs_node
def test_node_inspect_output_gives_each_cause_its_own_frames_with_the_elided_ones_restored(node_output):
    assert "lines matching cause stack trace" in node_output["inspect"]  # what this test is about
    assert "[errors]: [" in node_output["inspect"]
    got = parse_javascript(node_output["inspect"])
    want = expected_chain(node_output)
    assert [(v["type"], v["value"]) for v in got] == [
        ("SyntaxError", want[0]["value"]),
        ("Error", "config load failed"),
        ("AggregateError", "startup failed"),
    ]
    keys = ("function", "filename", "lineno", "colno", "in_app")
    for parsed, alone in zip(got, want, strict=True):
        assert frame_keys(parsed, *keys) == frame_keys(alone, *keys)
    # The AggregateError's members and the unrelated error printed after it belong to no exception here.
    assert not any("RangeError" in v["type"] or "TypeError" in v["type"] for v in got)


@needs_node
def test_caused_by_lines_chain_the_errors_as_node_cause_does(node_output):
    got = parse_javascript(node_output["causedBy"])
    want = expected_chain(node_output)
    keys = ("type", "value")
    assert [tuple(v[k] for k in keys) for v in got] == [tuple(v[k] for k in keys) for v in want]
    for parsed, alone in zip(got, want, strict=True):
        assert frame_keys(parsed, "function", "lineno", "colno") == frame_keys(alone, "function", "lineno", "colno")


# --- JVM -------------------------------------------------------------------------------------------

JAVA_SOURCE = textwrap.dedent(
    """
    package com.acme.shop;

    import java.util.List;
    import java.util.stream.Collectors;

    public class Checkout {
        static class Prices {
            int parse(String id) {
                try {
                    return Integer.parseInt(id);
                } catch (NumberFormatException e) {
                    throw new IllegalStateException("bad price id " + id, e);
                }
            }
        }

        interface Step { void run() throws Exception; }

        static void step(Step s) {
            try {
                s.run();
            } catch (Exception e) {
                throw new RuntimeException("checkout step failed", e);
            }
        }

        static Exception failure() {
            try {
                step(() -> List.of("7", "x9").stream().map(id -> new Prices().parse(id)).collect(Collectors.toList()));
                return null;
            } catch (RuntimeException e) {
                Exception top = new Exception("order 42 not placed", e);
                top.addSuppressed(new java.io.IOException("close failed"));
                return top;
            }
        }

        /** What the JVM knows of each throwable of the chain, one line each, for the test to compare. */
        static void describe(Throwable top) {
            for (Throwable t = top; t != null; t = t.getCause()) {
                StringBuilder line = new StringBuilder(t.getClass().getName());
                for (StackTraceElement f : t.getStackTrace()) {
                    line.append('|').append(f.getClassName()).append(' ').append(f.getMethodName())
                        .append(' ').append(f.getFileName()).append(' ').append(f.getLineNumber());
                }
                System.out.println(line);
            }
        }

        public static void main(String[] args) {
            Exception top = failure();
            top.printStackTrace();
            describe(top);
        }
    }
    """
)

# The same failure logged through SLF4J by logback, Spring Boot's logger (Debian's liblogback-java).
LOGBACK_SOURCE = textwrap.dedent(
    """
    package com.acme.shop;

    public class LoggedCheckout {
        public static void main(String[] args) {
            Exception top = Checkout.failure();
            org.slf4j.LoggerFactory.getLogger(LoggedCheckout.class).error("checkout failed", top);
            Checkout.describe(top);
        }
    }
    """
)
LOGBACK_CONFIG = """\
<configuration>
  <appender name="err" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%level %logger - %msg%n{converter}</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="err"/></root>
</configuration>
"""
LOGBACK_JARS = [Path("/usr/share/java") / f"{name}.jar" for name in ("slf4j-api", "logback-core", "logback-classic")]


def jvm_chain(described: str) -> list[tuple[str, list[tuple[Any, ...]]]]:
    chain = []
    for line in described.splitlines()[::-1]:  # the innermost cause first, as Sentry orders them
        name, *elements = line.split("|")
        fields = [e.split(" ") for e in elements][::-1]  # oldest call first
        chain.append((name, [(cls, method, file, int(lineno)) for cls, method, file, lineno in fields]))
    return chain


@needs_jdk
@pytest.mark.parametrize("rendering", ["printStackTrace", "logback %ex", "logback %rEx (root cause first)"])
def test_jvm_traces_give_each_cause_the_frames_the_jvm_reports(tmp_path: Path, rendering: str):
    logback = rendering.startswith("logback")
    if logback and not all(jar.is_file() for jar in LOGBACK_JARS):
        pytest.skip("logback is not installed (apt-get install liblogback-java)")
    package = tmp_path / "com" / "acme" / "shop"
    package.mkdir(parents=True)
    (package / "Checkout.java").write_text(JAVA_SOURCE)
    (package / "LoggedCheckout.java").write_text(LOGBACK_SOURCE)
    classpath = ":".join([str(tmp_path), *map(str, LOGBACK_JARS)])
    sources = [str(package / "Checkout.java"), *([str(package / "LoggedCheckout.java")] if logback else [])]
    subprocess.run(["javac", "-cp", classpath, *sources], cwd=tmp_path, check=True, timeout=120)
    command = ["java", "-cp", classpath, "com.acme.shop.Checkout"]
    if logback:
        config = tmp_path / "logback.xml"
        config.write_text(LOGBACK_CONFIG.format(converter=rendering.split()[1]))
        command = ["java", "-cp", classpath, f"-Dlogback.configurationFile={config}", "com.acme.shop.LoggedCheckout"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert "Suppressed: " in done.stderr
    assert ("common frames omitted" if logback else " more") in done.stderr  # elided frames, restored below
    assert ("Wrapped by: " in done.stderr) == rendering.endswith("(root cause first)")

    got = parse_java(done.stderr)
    jvm = jvm_chain(done.stdout)
    assert [f"{v['module']}.{v['type']}" for v in got] == [name for name, _ in jvm]
    for parsed, (_, frames) in zip(got, jvm, strict=True):
        assert frame_keys(parsed, "module", "function", "filename", "lineno") == frames


# --- PHP -------------------------------------------------------------------------------------------

needs_php = pytest.mark.skipif(shutil.which("php") is None, reason="PHP is not installed (apt-get install php-cli)")
MONOLOG = Path("/usr/share/php/Monolog/autoload.php")  # Debian's php-monolog, the logger Laravel writes with

PHP_PRICING = textwrap.dedent(
    """
    <?php
    namespace App\\Services;

    class PriceNotFound extends \\RuntimeException {}

    class Pricing {
        public function quote(string $sku): int {
            try {
                return $this->lookup($sku);
            } catch (\\InvalidArgumentException $e) {
                throw new PriceNotFound("no price for $sku", 404, $e);
            }
        }

        private function lookup(string $sku): int {
            $check = function ($s) { throw new \\InvalidArgumentException("bad sku '$s'"); };
            return array_map($check, [$sku])[0];
        }
    }
    """
).lstrip()

PHP_MAIN = textwrap.dedent(
    """
    <?php
    require __DIR__ . '/app/Services/Pricing.php';

    function handle() { return (new App\\Services\\Pricing())->quote("A-1"); }

    try {
        handle();
    } catch (Throwable $e) {
        // What PHP knows of each throwable, innermost first, for the test to compare.
        $chain = [];
        for ($t = $e; $t; $t = $t->getPrevious()) {
            array_unshift($chain, ['class' => get_class($t), 'message' => $t->getMessage(), 'file' => $t->getFile(),
                'line' => $t->getLine(), 'trace' => $t->getTrace()]);
        }
        file_put_contents(__DIR__ . '/chain.json', json_encode($chain));
        if ($argv[1] === 'string') {
            echo (string) $e;
        } elseif ($argv[1] === 'monolog') {
            require $argv[2];
            // As Laravel's single and daily channels write: Monolog's LineFormatter with stack traces.
            $formatter = new Monolog\\Formatter\\LineFormatter(null, 'Y-m-d H:i:s', true, true);
            $formatter->includeStacktraces(true);
            $handler = new Monolog\\Handler\\StreamHandler('php://stdout');
            $handler->setFormatter($formatter);
            $log = new Monolog\\Logger('production');
            $log->pushHandler($handler);
            $log->error($e->getMessage(), ['exception' => $e]);
            $log->error('the same again, a second log entry', ['exception' => $e]);
        } else {
            throw $e;  // uncaught: the CLI prints it to stderr twice, as a log line and as the displayed error
        }
    }
    """
).lstrip()


def php_expected(chain: list[dict[str, Any]]) -> list[tuple[str, str, list[tuple[Any, ...]]]]:
    """Sentry-ordered frames from PHP's own getTrace(): each frame is the code of one function (the caller of the
    entry above it) at the line where it called the next; the last is the throwing function at the throw."""
    values = []
    for exc in chain:
        trace = exc["trace"]

        def name(entry: dict[str, Any]) -> str:
            return f"{entry['class']}::{entry['function']}" if entry.get("class") else entry["function"]

        frames = [
            (name(trace[i + 1]) if i + 1 < len(trace) else None, trace[i].get("file"), trace[i].get("line"))
            for i in range(len(trace) - 1, -1, -1)
        ]
        frames.append((name(trace[0]) if trace else None, exc["file"], exc["line"]))
        values.append((exc["class"], exc["message"], frames))
    return values


@needs_php
@pytest.mark.parametrize("mode", ["string", "uncaught", "monolog"])
def test_php_traces_give_each_exception_the_frames_php_reports(tmp_path: Path, mode: str):
    if mode == "monolog" and not MONOLOG.is_file():
        pytest.skip("Monolog is not installed (apt-get install php-monolog)")
    (tmp_path / "app" / "Services").mkdir(parents=True)
    (tmp_path / "app" / "Services" / "Pricing.php").write_text(PHP_PRICING)
    (tmp_path / "main.php").write_text(PHP_MAIN)
    command = [
        "php",
        "-d",
        "display_errors=stderr",
        "-d",
        "log_errors=1",
        str(tmp_path / "main.php"),
        mode,
        str(MONOLOG),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    printed = done.stdout if mode != "uncaught" else done.stderr
    assert printed.count("Stack trace:" if mode != "monolog" else "[stacktrace]") == (2 if mode == "string" else 4)

    got = parse_php(printed)
    chain = json.loads((tmp_path / "chain.json").read_text())
    want = php_expected(chain)
    assert [(v["type"], v["value"]) for v in got] == [(cls, message) for cls, message, _ in want]
    for parsed, (_, _, frames) in zip(got, want, strict=True):
        assert frame_keys(parsed, "function", "abs_path", "lineno") == frames
    # The laravel webhook's other form, getTrace() as a list, gives the same frames as the printed text.
    for parsed, exc in zip(got, chain, strict=True):
        from_list = php_frames_from_backtrace(exc["trace"], exc["file"], exc["line"])
        assert [tuple(f[k] for k in FRAME_KEYS) for f in from_list] == frame_keys(parsed, *FRAME_KEYS)


# --- Browsers --------------------------------------------------------------------------------------

# A page's script whose errors happen at known places; it posts each error's `stack`, as a reporter would send it.
BROWSER_SCRIPT = textwrap.dedent(
    """
    class CartView {
      render(cart) {
        return cart.items.length;
      }
    }
    function loadCart() {
      return new CartView().render({});
    }
    const stacks = {};
    try { loadCart(); } catch (e) { stacks.method = e.stack; }
    try { [1].map(function (x) { return x.a.b; }); } catch (e) { stacks.callback = e.stack; }
    try { eval("(function evil() { null.f(); })()"); } catch (e) { stacks.eval = e.stack; }
    async function checkout() { await null; throw new RangeError("coupon expired"); }
    checkout().catch((e) => {
      stacks.async = e.stack;
      fetch("/stacks", { method: "POST", body: JSON.stringify(stacks) }).then(() => { document.title = "posted"; });
    });
    """
).lstrip()
# In-app frames, oldest call first, as (function, line): the same from both engines' formats. An anonymous function
# has no name; code run by eval() is placed at the eval() call.
BROWSER_FRAMES: dict[str, list[tuple[str | None, int]]] = {
    "method": [(None, 10), ("loadCart", 7), ("render", 3)],
    "callback": [(None, 11), (None, 11)],
    "eval": [(None, 12), ("eval", 12), ("evil", 12)],
    "async": [("checkout", 13)],
}

# What grouping v2 counts of those frames, the same for both engines: named frames only, methods by their own name,
# eval's frames left out.
BROWSER_GROUPED: dict[str, list[str]] = {
    "method": ["loadCart", "render"],
    "callback": [""],
    "eval": ["evil"],
    "async": ["checkout"],
}


@pytest.mark.parametrize(
    "browser",
    [
        pytest.param("chromium", marks=pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")),
        pytest.param("firefox", marks=pytest.mark.skipif(FIREFOX is None, reason="Firefox is not installed")),
    ],
)
def test_browser_stacks_give_the_frames_of_the_code_that_threw(browser: str, tmp_path: Path):
    (tmp_path / "app.js").write_text(BROWSER_SCRIPT)
    (tmp_path / "index.html").write_text('<!doctype html><title>shop</title><script src="/app.js"></script>')
    posted: dict[str, str] = {}

    class Site(SimpleHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.update(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Site, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        command = browser_command(browser, f"{origin}/index.html", tmp_path / "profile")
        subprocess.run(command, capture_output=True, timeout=120, check=True)
    finally:
        server.shutdown()
        server.server_close()

    assert set(posted) == set(BROWSER_FRAMES), posted
    expected = {**BROWSER_FRAMES}
    if browser == "chromium":  # V8 names a method with its class, Gecko does not
        expected["method"] = [*BROWSER_FRAMES["method"][:-1], ("CartView.render", 3)]
    for case, stack in posted.items():
        [value] = parse_stacktrace(stack)  # the language found from the text, as the webhooks do
        in_app = [f for f in value["stacktrace"]["frames"] if f["in_app"]]
        assert [(f["function"], f["lineno"]) for f in in_app] == expected[case], (case, stack)
        assert all(f["abs_path"] == f"{origin}/app.js" and f["filename"] == "/app.js" for f in in_app), stack
        # Grouping v2 names each frame as the other browser would: one bug is one error from either.
        event = {"platform": "javascript", "exception": {"values": [value]}}
        grouped = [(c[1], c[2]) for c in components(event, version=2) if c[0] == "frame"]
        assert grouped == [("app.js", name) for name in BROWSER_GROUPED[case]], (case, grouped)
