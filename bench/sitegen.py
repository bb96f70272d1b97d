"""Plans the corpus's error sites and writes them out as a Python package, one copy per deploy.

A site is one place in the code that makes one kind of event: a raise reached by one call path, a
logged error, a captured message. Each deploy writes the same sites with different padding and order,
so line numbers and file paths move while the code stays the same, as they do between real releases.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from string import Template

PACKAGE = "benchapp"

MODULES = (
    "orders",
    "payments",
    "inventory",
    "accounts",
    "search",
    "shipping",
    "notifications",
    "reports",
    "billing",
    "catalog",
)
VERBS = (
    "sync", "load", "apply", "charge", "refund", "reserve", "release", "validate", "render", "export",
    "import", "notify", "resolve", "compute", "merge", "split", "archive", "publish", "schedule", "fetch",
    "parse", "quote", "allocate", "reconcile", "rebuild", "expire", "verify", "replay",
)  # fmt: skip
NOUNS = (
    "order", "cart", "line_item", "discount", "invoice", "payment", "refund", "stock", "warehouse",
    "account", "profile", "session", "query", "facet", "parcel", "label", "carrier", "email", "push",
    "digest", "report", "ledger", "plan", "coupon", "price", "product", "variant", "review",
)  # fmt: skip
SUBJECTS = (
    "payment", "refund", "invoice", "shipment", "reservation", "webhook", "export", "report", "session",
    "token", "coupon", "subscription", "ledger entry", "price rule", "search index", "thumbnail",
    "email digest", "cache entry", "tax quote", "fraud check",
)  # fmt: skip
OUTCOMES = (
    "was rejected by the gateway", "timed out waiting for a lock", "could not be reconciled",
    "is missing its owner", "was retried too often", "exceeded its quota", "has a stale version",
    "arrived out of order", "failed schema validation", "was dropped by the broker",
)  # fmt: skip
AREAS = ("checkout", "backoffice", "mobile api", "partner api", "nightly batch", "admin", "storefront", "cron")
BUILTIN_TYPES = (
    "ValueError", "KeyError", "RuntimeError", "LookupError", "PermissionError", "TimeoutError",
    "ConnectionError", "NotImplementedError", "FileNotFoundError", "OverflowError", "AssertionError",
)  # fmt: skip
CLASS_SUFFIXES = ("Error", "NotFound", "Conflict", "Unavailable", "Rejected", "Expired")

# Errors raised by Python itself from ordinary operations on the request context: (type to catch, statement).
OPERATIONS = {
    "KeyError": ("KeyError", 'return ctx["mapping"][ctx["key"]]'),
    "ZeroDivisionError": ("ZeroDivisionError", 'return ctx["total"] / ctx["zero"]'),
    "ValueError": ("ValueError", 'return int(ctx["text"])'),
    "IndexError": ("IndexError", 'return ctx["items"][ctx["index"]]'),
    "AttributeError": ("AttributeError", 'return ctx["none"].strip()'),
    "TypeError": ("TypeError", 'return ctx["total"] + ctx["text"]'),
    "JSONDecodeError": ("json.JSONDecodeError", 'return json.loads(ctx["raw"])'),
    "strptime": ("ValueError", 'return datetime.strptime(ctx["text"], "%Y-%m-%d")'),
}

# Site kinds and how often each is drawn.
KINDS = {
    "raise": 26,
    "chained": 12,
    "implicit_chain": 6,
    "builtin": 14,
    "recursion": 5,
    "mutual_recursion": 3,
    "listcomp": 4,
    "lambda": 3,
    "handled": 6,
    "handled_fingerprint": 3,
    "log_exception": 8,
    "log_message": 6,
    "capture_message": 4,
}
MESSAGE_KINDS = frozenset({"log_message", "capture_message"})


@dataclass(frozen=True)
class Site:
    id: str
    module: str
    kind: str
    entry: str
    exc_type: str | None = None  # what the site raises (the main exception)
    inner: str | None = None  # the OPERATIONS key or type of the wrapped exception, for chains
    text: str = ""  # exception message, log template or message words
    level: str = "error"


class SitePlanError(Exception):
    """The requested corpus cannot be planned (e.g. more sites than the vocabulary has distinct names)."""


def _camel(noun: str) -> str:
    return "".join(part.capitalize() for part in noun.split("_"))


def module_classes(module: str) -> list[str]:
    """The exception classes a generated module defines: three per module, named after its domain."""
    rng = random.Random(f"classes:{module}")
    nouns = rng.sample(NOUNS, 3)
    return [f"{_camel(noun)}{rng.choice(CLASS_SUFFIXES)}" for noun in nouns]


def plan_sites(count: int, seed: int) -> list[Site]:
    """`count` distinct sites spread over the modules; the same seed always gives the same plan."""
    if count < 1:
        raise SitePlanError("the corpus needs at least one site")
    rng = random.Random(seed)
    names = [(verb, noun) for verb in VERBS for noun in NOUNS]
    messages = [(s, o, a) for s in SUBJECTS for o in OUTCOMES for a in AREAS]
    if count > len(names) * len(MODULES) or count > len(messages):
        raise SitePlanError(f"at most {min(len(names) * len(MODULES), len(messages))} distinct sites can be made")
    rng.shuffle(messages)
    free = {module: rng.sample(names, len(names)) for module in MODULES}
    kinds, weights = zip(*KINDS.items(), strict=True)
    sites = []
    for index in range(count):
        module = MODULES[index % len(MODULES)]
        verb, noun = free[module].pop()
        kind = rng.choices(kinds, weights)[0]
        subject, outcome, area = messages.pop()
        exc_type = rng.choice([*BUILTIN_TYPES, *module_classes(module)])
        inner = None
        text = f"{subject} {{ident}} {outcome} in {area}"
        if kind == "builtin":
            inner = rng.choice(sorted(OPERATIONS))
            exc_type = None
        elif kind in ("chained", "implicit_chain"):
            inner = rng.choice(sorted(OPERATIONS))
        elif kind in MESSAGE_KINDS:
            exc_type = None
            text = f"{subject} %s {outcome} in {area} after %d attempts" if kind == "log_message" else text
        level = rng.choice(["error", "error", "warning"]) if kind in MESSAGE_KINDS else "error"
        sites.append(
            Site(
                id=f"s{index:04d}:{module}.{verb}_{noun}",
                module=module,
                kind=kind,
                entry=f"{verb}_{noun}",
                exc_type=exc_type,
                inner=inner,
                text=text,
                level=level,
            )
        )
    return sites


def _raise(exc_type: str, text: str, ident: str) -> str:
    message = text.replace("{ident}", "{" + ident + "}")
    return f'raise {exc_type}(f"{message}")'


# The functions of each kind of site. `$entry` is what the driver calls; the helpers are private to it.
SOURCES = {
    "raise": """\
def $entry(ctx):
    record = {"id": ctx["id"], "attempt": ctx["n"]}
    return _${entry}_step(record, ctx)


def _${entry}_step(record, ctx):
    if record["attempt"] < 0:
        return record
    $raise_record
""",
    "builtin": """\
def $entry(ctx):
    return _${entry}_step(ctx)


def _${entry}_step(ctx):
    $statement
""",
    "chained": """\
def $entry(ctx):
    try:
        return _${entry}_step(ctx)
    except $catch as exc:
        $raise_ctx from exc


def _${entry}_step(ctx):
    $statement
""",
    "implicit_chain": """\
def $entry(ctx):
    try:
        return _${entry}_step(ctx)
    except $catch:
        return _${entry}_fallback(ctx)


def _${entry}_step(ctx):
    $statement


def _${entry}_fallback(ctx):
    $raise_ctx
""",
    "recursion": """\
def $entry(ctx):
    return _${entry}_walk(ctx["depth"], ctx)


def _${entry}_walk(depth, ctx):
    if depth <= 0:
        $raise_ctx
    return _${entry}_walk(depth - 1, ctx)
""",
    "mutual_recursion": """\
def $entry(ctx):
    return _${entry}_even(ctx["depth"], ctx)


def _${entry}_even(depth, ctx):
    if depth <= 0:
        $raise_ctx
    return _${entry}_odd(depth - 1, ctx)


def _${entry}_odd(depth, ctx):
    return _${entry}_even(depth - 1, ctx)
""",
    "listcomp": """\
def $entry(ctx):
    return [_${entry}_one(position, ctx) for position in range(ctx["count"])]


def _${entry}_one(position, ctx):
    if position == ctx["count"] - 1:
        $raise_ctx
    return position
""",
    "lambda": """\
def $entry(ctx):
    return sorted(ctx["ids"], key=lambda item: _${entry}_key(item, ctx))


def _${entry}_key(item, ctx):
    if item == ctx["ids"][-1]:
        $raise_item
    return item
""",
    "handled": """\
def $entry(ctx):
    try:
        return _${entry}_step(ctx)
    except $exc as exc:
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("handled_by", "$module")
            $scope_line
            sentry_sdk.capture_exception(exc)
        return None


def _${entry}_step(ctx):
    $raise_ctx
""",
    "log_exception": """\
def $entry(ctx):
    try:
        return _${entry}_step(ctx)
    except $exc:
        log.exception("could not $words %s (attempt %d)", ctx["id"], ctx["n"])
        return None


def _${entry}_step(ctx):
    $raise_ctx
""",
    "log_message": """\
def $entry(ctx):
    log.$level("$text", ctx["id"], ctx["n"])
""",
    "capture_message": """\
def $entry(ctx):
    sentry_sdk.capture_message(f"$message", level="$level")
""",
}
SOURCES["handled_fingerprint"] = SOURCES["handled"]


def site_source(site: Site) -> str:
    """The site's functions as Python source: the entry function the driver calls, then its helpers."""
    template = SOURCES.get(site.kind)
    if template is None:
        raise SitePlanError(f"unknown site kind {site.kind!r}")
    exc = site.exc_type or "Exception"
    catch, statement = OPERATIONS.get(site.inner or "", ("Exception", "pass"))
    if site.kind == "handled_fingerprint":
        scope_line = f'scope.fingerprint = ["{{{{ default }}}}", "{site.module}-{site.entry}"]'
    else:
        scope_line = 'scope.set_tag("retry", str(ctx["n"] > 4).lower())'
    return Template(template).substitute(
        entry=site.entry,
        exc=exc,
        module=site.module,
        catch=catch,
        statement=statement,
        raise_ctx=_raise(exc, site.text, "ctx['id']"),
        raise_record=_raise(exc, site.text, "record['id']"),
        raise_item=_raise(exc, site.text, "item"),
        scope_line=scope_line,
        words=site.entry.replace("_", " "),
        text=site.text,
        level=site.level,
        message=site.text.replace("{ident}", "{ctx['uuid']}") + " ({ctx['ms']} ms)",
    )


def module_source(module: str, sites: list[Site], deploy_rng: random.Random) -> str:
    """One generated module of a deploy: its sites in a deploy-specific order, spaced by padding."""
    notes = deploy_rng.randint(1, 12)
    lines = [f'"""The {module} service (generated for the ingest benchmark).', ""]
    lines += [f"Change {n}: internal refactoring." for n in range(notes)]
    lines += ['"""', "", "import json", "import logging", "from datetime import datetime", "", "import sentry_sdk"]
    lines += ["", "log = logging.getLogger(__name__)", ""]
    for name in module_classes(module):
        lines += ["", f"class {name}(Exception):", f'    """A {module} failure."""', ""]
    ordered = list(sites)
    deploy_rng.shuffle(ordered)
    for site in ordered:
        lines += [""] + [f"# {site.kind}: reviewed" for _ in range(deploy_rng.randint(0, 4))] + [""]
        lines.append(site_source(site))
    return "\n".join(lines)


def write_package(root: Path, sites: list[Site], deploy_rng: random.Random) -> None:
    """Write the `benchapp` package with every site under `root` (a deploy's folder)."""
    package = root / PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""Generated services for the ingest benchmark."""\n')
    for module in MODULES:
        own = [site for site in sites if site.module == module]
        (package / f"{module}.py").write_text(module_source(module, own, deploy_rng))
