"""Makes the ingest benchmark's corpus: envelopes from the real sentry-sdk, each labelled with the site that made it.

    python -m bench.make_corpus [--sites 240] [--deploys 3] [--rounds 3] [--seed 1] [--out bench/corpus/...]

Generated services (bench/sitegen.py) raise, chain, recurse and log; the SDK captures each event through a
transport that keeps the serialized envelope instead of sending it. Every deploy is written to its own
folder with a new release, shifted line numbers and another order of functions, as a real redeploy would.
The same seed gives the same sites, messages, users, tags and event ids (timestamps and trace ids differ).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import importlib
import json
import logging
import random
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.transport import Transport

from bench.sitegen import MODULES, PACKAGE, Site, SitePlanError, plan_sites, write_package

DEFAULT_OUT = Path(__file__).resolve().parent / "corpus" / "envelopes.jsonl.gz"
PLACEHOLDER_DSN = "http://benchkey@127.0.0.1:9/1"
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1")
TIERS = ("free", "pro", "gold", "enterprise")
ROUTES = ("/api/orders/{id}", "/api/cart", "/checkout", "/api/search", "/account/settings", "/admin/reports")

log = logging.getLogger("bench.driver")


class CapturingTransport(Transport):
    """Keeps what the SDK would send, serialized exactly as it would go on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[bytes] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        # Sessions and client reports come on their own schedule; only events belong to a site.
        if any(item.type == "event" for item in envelope.items):
            self.envelopes.append(envelope.serialize())


def request_context(rng: random.Random) -> dict[str, Any]:
    """Values the generated code reads; each event gets its own, so messages and variables vary."""
    items = [rng.randint(1, 99) for _ in range(rng.randint(0, 3))]
    return {
        "id": rng.randint(1, 10**7),
        "n": rng.randint(0, 9),
        "text": rng.choice(["n/a", "12a", "4.5.6", "tomorrow", f"x{rng.randint(1, 999)}", ""]),
        "mapping": {"sku-1": 1, "sku-2": 2},
        "key": f"sku-{rng.randint(3, 999)}",
        "total": rng.randint(1, 10_000),
        "zero": 0,
        "none": None,
        "raw": rng.choice(['{"a": ', "<html>", "{'single': 1}", "nul"]),
        "items": items,
        "index": len(items) + rng.randint(0, 3),
        "depth": rng.randint(3, 12),
        "count": rng.randint(1, 6),
        "ids": rng.sample(range(1, 1000), rng.randint(1, 5)),
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "ms": round(rng.uniform(5, 30_000), 1),
        "api_key": f"sk_live_{rng.getrandbits(96):024x}",
        "card_token": f"tok_{rng.getrandbits(64):016x}",
    }


def _request_processor(rng: random.Random, environment: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    route = rng.choice(ROUTES).replace("{id}", str(rng.randint(1, 10**6)))
    request = {
        "url": f"https://shop.example.com{route}",
        "method": rng.choice(["GET", "POST", "PUT"]),
        "query_string": f"page={rng.randint(1, 9)}&session={rng.getrandbits(64):x}",
        "headers": {
            "Host": "shop.example.com",
            "User-Agent": rng.choice(["Mozilla/5.0 (X11; Linux x86_64)", "okhttp/4.12.0", "curl/8.5.0"]),
            "Accept": "application/json",
            "Authorization": f"Bearer {rng.getrandbits(128):x}",
            "Cookie": f"sessionid={rng.getrandbits(64):x}; theme=dark",
        },
        "env": {"REMOTE_ADDR": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"},
    }
    server = f"web-{rng.randint(1, 8)}"

    def processor(event: dict[str, Any], hint: Any) -> dict[str, Any]:
        event["request"] = request
        event["environment"] = environment
        event["server_name"] = server
        return event

    return processor


def _decorate(scope: Any, rng: random.Random, environment: str) -> None:
    """Tags, user, breadcrumbs and request of one event, as a web app's middleware would set them."""
    user = rng.randint(1, 300)
    scope.set_user({"id": str(user), "email": f"user{user}@example.com", "username": f"user{user}"})
    scope.set_tag("region", rng.choice(REGIONS))
    scope.set_tag("customer_tier", rng.choice(TIERS))
    scope.set_tag("feature.new_checkout", rng.choice(["on", "off"]))
    scope.set_context("cart", {"items": rng.randint(0, 12), "value_cents": rng.randint(0, 500_000)})
    for _ in range(rng.randint(2, 12)):
        choice = rng.random()
        if choice < 0.4:
            log.info("GET /api/items/%d -> %d", rng.randint(1, 10**5), rng.choice([200, 200, 304, 404]))
        elif choice < 0.7:
            sentry_sdk.add_breadcrumb(
                category="query", message=f"SELECT * FROM orders WHERE id = {rng.randint(1, 10**6)}", level="info"
            )
        else:
            sentry_sdk.add_breadcrumb(
                type="http",
                category="httplib",
                data={"url": f"https://api.example.com/v1/x/{rng.randint(1, 999)}", "status_code": 200},
            )
    scope.add_event_processor(_request_processor(rng, environment))


@contextlib.contextmanager
def deploy_package(root: Path, sites: list[Site], deploy_rng: random.Random) -> Iterator[dict[str, Any]]:
    """Write one deploy's code under `root`, import it, and forget it again afterwards."""
    write_package(root, sites, deploy_rng)
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield {module: importlib.import_module(f"{PACKAGE}.{module}") for module in MODULES}
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _event_id(envelope: bytes) -> str:
    header = json.loads(envelope.split(b"\n", 1)[0])
    return str(header["event_id"])


def capture(sites: list[Site], *, deploys: int, rounds: int, seed: int) -> Iterator[dict[str, Any]]:
    """Yield one record per event: the site, the deploy, the event id and the envelope bytes."""
    rng = random.Random(seed)
    transport = CapturingTransport()
    root = logging.getLogger()
    quiet, saved_level = logging.NullHandler(), root.level
    root.addHandler(quiet)  # the SDK sees the records; nothing is printed
    root.setLevel(logging.INFO)
    try:
        with tempfile.TemporaryDirectory(prefix="errlog-corpus-") as tmp:
            for deploy in range(deploys):
                release = f"shop@2.{deploy}.0"
                deploy_rng = random.Random(f"{seed}:deploy:{deploy}")
                sentry_sdk.init(
                    dsn=PLACEHOLDER_DSN,
                    transport=transport,
                    release=release,
                    in_app_include=[PACKAGE],
                    in_app_exclude=["bench", "__main__"],
                    integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.WARNING)],
                    send_client_reports=False,
                )
                with deploy_package(Path(tmp) / release, sites, deploy_rng) as modules:
                    for _ in range(rounds):
                        for site in rng.sample(sites, len(sites)):
                            yield _capture_one(site, modules, transport, rng, release, deploy)
    finally:
        sentry_sdk.get_client().close()
        root.removeHandler(quiet)
        root.setLevel(saved_level)


def _capture_one(
    site: Site, modules: dict[str, Any], transport: CapturingTransport, rng: random.Random, release: str, deploy: int
) -> dict[str, Any]:
    environment = rng.choices(["production", "staging"], [9, 1])[0]
    before = len(transport.envelopes)
    with sentry_sdk.isolation_scope() as scope:
        _decorate(scope, rng, environment)
        try:
            getattr(modules[site.module], site.entry)(request_context(rng))
        except Exception as exc:
            sentry_sdk.capture_exception(exc)
    made = transport.envelopes[before:]
    if len(made) != 1:
        raise RuntimeError(f"site {site.id} made {len(made)} events instead of one")
    envelope = made[0]
    # Seeded ids, so that two corpora made with the same seed name the same events.
    new_id = f"{rng.getrandbits(128):032x}"
    envelope = envelope.replace(_event_id(envelope).encode(), new_id.encode())
    return {
        "site": site.id,
        "kind": site.kind,
        "deploy": deploy,
        "release": release,
        "event_id": new_id,
        "envelope": base64.b64encode(envelope).decode("ascii"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sites", type=int, default=240, help="distinct error sites (default 240)")
    parser.add_argument("--deploys", type=int, default=3, help="deploys (releases) the sites run in (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="events per site and deploy (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    args = parser.parse_args(argv)
    if args.deploys < 1 or args.rounds < 1:
        parser.error("--deploys and --rounds must be at least 1")
    try:
        sites = plan_sites(args.sites, args.seed)
    except SitePlanError as exc:
        parser.error(str(exc))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    kinds: Counter[str] = Counter()
    total = 0
    raw_bytes = 0
    with gzip.open(args.out, "wt", encoding="utf-8") as out:
        for record in capture(sites, deploys=args.deploys, rounds=args.rounds, seed=args.seed):
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
            kinds[record["kind"]] += 1
            total += 1
            raw_bytes += len(record["envelope"]) * 3 // 4
    print(
        f"wrote {total} envelopes from {len(sites)} sites x {args.deploys} deploys x {args.rounds} rounds "
        f"to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB gzip, {raw_bytes / total / 1024:.1f} KiB "
        f"per envelope on average)"
    )
    print("events by site kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
