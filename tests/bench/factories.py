"""Small factories for the benchmark tools' tests: sites, corpus records and corpus files."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

from bench.corpus import Record
from bench.sitegen import KINDS, Site

OLD_ID = "0123456789abcdef0123456789abcdef"
NEW_ID = "fedcba9876543210fedcba9876543210"


def make_site(kind: str, **overrides: object) -> Site:
    defaults: dict[str, object] = {
        "id": f"s0000:orders.sync_{kind}",
        "module": "orders",
        "kind": kind,
        "entry": f"sync_{kind}",
        "exc_type": "ValueError",
        "inner": "KeyError" if kind in ("builtin", "chained", "implicit_chain") else None,
        "text": "payment {ident} was rejected by the gateway in checkout",
    }
    if kind == "log_message":
        defaults["text"] = "payment %s was rejected in checkout after %d attempts"
    defaults.update(overrides)
    return Site(**defaults)  # type: ignore[arg-type]


def one_site_per_kind() -> list[Site]:
    """A site of every kind, each with its own entry function and message."""
    sites = []
    for n, kind in enumerate(sorted(KINDS)):
        text = f"subject{n} %s failed in area{n} after %d attempts" if kind == "log_message" else None
        sites.append(
            make_site(kind, id=f"s{n:04d}:orders.k{n}", entry=f"k{n}", text=text or f"subject{n} {{ident}} failed")
        )
    return sites


def make_record(event_id: str = OLD_ID, site: str = "s0001:orders.sync_order") -> Record:
    payload = json.dumps({"event_id": event_id, "level": "error", "message": "boom"}).encode()
    header = json.dumps({"event_id": event_id, "sent_at": "2024-01-01T00:00:00Z"}).encode()
    item = json.dumps({"type": "event", "length": len(payload)}).encode()
    return Record(
        site=site, kind="raise", deploy=0, event_id=event_id, envelope=header + b"\n" + item + b"\n" + payload
    )


def record_line(record: Record) -> str:
    return json.dumps(
        {
            "site": record.site,
            "kind": record.kind,
            "deploy": record.deploy,
            "event_id": record.event_id,
            "envelope": base64.b64encode(record.envelope).decode(),
        }
    )


def write_corpus(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt") as out:
        out.write("\n".join(lines) + "\n")
    return path
