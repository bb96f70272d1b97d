"""The planned error sites and the Python modules written for each deploy."""

from __future__ import annotations

import random

import pytest

from bench.sitegen import KINDS, MODULES, SitePlanError, module_source, plan_sites, site_source
from tests.bench.factories import make_site


def test_the_same_seed_plans_the_same_sites_and_another_seed_others():
    assert plan_sites(50, seed=3) == plan_sites(50, seed=3)
    assert plan_sites(50, seed=3) != plan_sites(50, seed=4)


def test_sites_are_distinct_and_spread_over_the_modules():
    sites = plan_sites(300, seed=1)
    assert len({site.id for site in sites}) == 300
    assert len({(site.module, site.entry) for site in sites}) == 300
    assert {site.module for site in sites} == set(MODULES)
    message_texts = [site.text for site in sites if site.kind in ("log_message", "capture_message")]
    assert len(message_texts) == len(set(message_texts))


def test_impossible_plans_are_refused():
    with pytest.raises(SitePlanError, match="at least one"):
        plan_sites(0, seed=1)
    with pytest.raises(SitePlanError, match="at most"):
        plan_sites(10**6, seed=1)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_site_is_valid_python_defining_its_entry(kind):
    source = site_source(make_site(kind))
    namespace: dict[str, object] = {}
    exec(compile("import json, logging\nlog = logging.getLogger('t')\n" + source, "site", "exec"), namespace)
    assert callable(namespace[f"sync_{kind}"])


def test_a_raising_site_raises_its_type_with_the_varying_id():
    namespace: dict[str, object] = {}
    exec(site_source(make_site("raise")), namespace)
    with pytest.raises(ValueError, match="payment 4711 was rejected"):
        namespace["sync_raise"]({"id": 4711, "n": 1})  # type: ignore[operator]


def test_an_unknown_kind_is_refused():
    with pytest.raises(SitePlanError, match="unknown site kind"):
        site_source(make_site("teleport"))


def test_deploys_move_the_same_functions_to_other_lines():
    sites = [site for site in plan_sites(40, seed=1) if site.module == "orders"]
    first = module_source("orders", sites, random.Random("a"))
    second = module_source("orders", sites, random.Random("b"))
    compile(first, "orders.py", "exec")
    line_of = [
        {line: number for number, line in enumerate(text.splitlines()) if line.startswith("def ")}
        for text in (first, second)
    ]
    assert line_of[0].keys() == line_of[1].keys()
    assert line_of[0] != line_of[1]
