"""docs/integrations.md's Laravel webhook reporter, run by `php` against a live collector. Laravel itself cannot be
installed here (no Composer registry), so a stand-in gives the few framework calls the reporter makes (`app()`,
`config()`, `now()`, the `Http` facade, a `Request`); the `Http` stand-in really posts, with PHP's own HTTP client.
Skipped where PHP is not installed (.ci/run installs it)."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from tests.docs.examples import block
from tests.docs.run import run

pytestmark = pytest.mark.skipif(shutil.which("php") is None, reason="PHP is not installed (apt-get install php-cli)")

LARAVEL_STAND_IN = textwrap.dedent(
    """
    <?php
    namespace Illuminate\\Http {
        class Request {
            public function fullUrl() { return 'https://shop.example.com/cart/7?coupon=SPRING'; }
            public function method() { return 'POST'; }
            public function ip() { return '203.0.113.9'; }
            public function userAgent() { return 'Mozilla/5.0'; }
            public function user() { return new class { public $email = 'ann@example.com';
                public function getAuthIdentifier() { return 17; } }; }
        }
    }
    namespace Illuminate\\Support\\Facades {
        class Http {
            private $token; private $timeout;
            public static function withToken($token) { $http = new self(); $http->token = $token; return $http; }
            public function timeout($seconds) { $this->timeout = $seconds; return $this; }
            public function post($url, $data) {
                $context = stream_context_create(['http' => ['method' => 'POST', 'timeout' => $this->timeout,
                    'ignore_errors' => true, 'content' => json_encode($data),
                    'header' => "Authorization: Bearer {$this->token}\\r\\nContent-Type: application/json\\r\\n"]]);
                $body = file_get_contents($url, false, $context);
                echo $http_response_header[0], "\\n", $body, "\\n";
            }
        }
    }
    namespace {
        function app() { return new class { public function runningInConsole() { return false; }
            public function environment() { return 'production'; } }; }
        function request() { return new Illuminate\\Http\\Request(); }
        function config($key) { return ['services.errlog.url' => getenv('ERRLOG_URL'),
            'services.errlog.token' => getenv('ERRLOG_WEBHOOK_TOKEN'), 'app.version' => 'shop@2.4.0'][$key]; }
        function now() { return new class { public function toIso8601String() { return date('c'); } }; }
    }
    """
).lstrip()

PRICING = textwrap.dedent(
    """
    <?php
    namespace App\\Services;

    class Pricing {
        public function ratio(int $a, int $b): float {
            try {
                return intdiv($a, $b);
            } catch (\\DivisionByZeroError $e) {
                throw new \\RuntimeException("cannot price cart with $b items", 3, $e);
            }
        }
    }
    """
).lstrip()

INDEX = textwrap.dedent(
    """
    <?php
    require __DIR__ . '/../laravel.php';
    require __DIR__ . '/../app/Support/ErrlogReporter.php';
    require __DIR__ . '/../app/Services/Pricing.php';

    function show() { return (new App\\Services\\Pricing())->ratio(10, 0); }

    try {
        show();
    } catch (Throwable $e) {
        App\\Support\\ErrlogReporter::report($e);
    }
    """
).lstrip()


def test_the_laravel_reporter_sends_the_exception_with_its_previous_chain(docs_project, tmp_path):
    for folder in ("app/Support", "app/Services", "public"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "app" / "Support" / "ErrlogReporter.php").write_text(block("integrations.md", "laravel-webhook").text)
    (tmp_path / "app" / "Services" / "Pricing.php").write_text(PRICING)
    (tmp_path / "laravel.php").write_text(LARAVEL_STAND_IN)
    (tmp_path / "public" / "index.php").write_text(INDEX)
    output = run(["php", "public/index.php"], cwd=tmp_path, env=docs_project.environment(ERRLOG_URL=docs_project.url))
    assert "HTTP/1.1 200 OK" in output, output

    [error] = docs_project.errors("RuntimeException")
    assert error["title"] == "RuntimeException: cannot price cart with 0 items"
    assert (error["platform"], error["environment"], error["severity"]) == ("php", "production", "high")
    [summary] = docs_project.events(error["id"])
    assert summary["user_key"] == "id:17"
    event = docs_project.event(summary["event_id"])
    assert event["source"] == "webhook:laravel" and event["payload"]["release"] == "shop@2.4.0"
    assert event["payload"]["request"]["method"] == "POST"
    assert event["payload"]["request"]["url"].startswith("https://shop.example.com/cart/7")
    values = event["payload"]["exception"]["values"]
    assert [v["type"] for v in values] == ["DivisionByZeroError", "RuntimeException"]
    # Frames oldest call first, paths from the project's root. The last frame is where the exception was thrown:
    # its own file and line (an internal function's error is thrown where it was called).
    frames = [[(f["function"], f["filename"], f["lineno"]) for f in v["stacktrace"]["frames"]] for v in values]
    assert frames == [
        [
            (None, "public/index.php", 9),
            ("show", "public/index.php", 6),
            ("App\\Services\\Pricing::ratio", "app/Services/Pricing.php", 7),
            ("intdiv", "app/Services/Pricing.php", 7),
        ],
        [
            (None, "public/index.php", 9),
            ("show", "public/index.php", 6),
            ("App\\Services\\Pricing::ratio", "app/Services/Pricing.php", 9),
        ],
    ]
