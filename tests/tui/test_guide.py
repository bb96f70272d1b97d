"""The console's section of docs/guide.md stays true: its key tables are the code's bindings, and its keymap
example loads from a config file and rebinds the keys it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.binding import Binding

from tests.docs.examples import block
from tests.tui.conftest import screen_text, settle
from tests.tui.test_snapshots import snapshot_app
from tui.app import ErrlogApp, binding_ids
from tui.config import resolve_config
from tui.screens import ALL_SCREENS
from tui.widgets import ALL_PANES, FilterBar, ListTable

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
SHOWN_AS = {"?": "question_mark", "/": "slash"}  # keys the guide writes as the footer shows them


def section(start: str, end: str) -> str:
    text = GUIDE.read_text()
    return text[text.index(start) + len(start) : text.index(end, text.index(start))]


def documented_keys() -> dict[str, set[str]]:
    """Binding id -> keys, from the guide's key tables: `a` / `b` in the keys column pairs with `x` / `y` ids."""
    found: dict[str, set[str]] = {}
    for line in section("<!-- check: tui-keys -->", "<!-- end: tui-keys -->").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue  # a header, a separator, or prose between the tables
        key_groups = [re.findall(r"`([^`]+)`", group) for group in cells[0].split(" / ")]
        id_groups = [re.findall(r"`([^`]+)`", group) for group in cells[1].split(" / ")]
        if len(key_groups) == 1 and len(id_groups) == 1 and len(key_groups[0]) == len(id_groups[0]) > 1:
            key_groups, id_groups = [[k] for k in key_groups[0]], [[i] for i in id_groups[0]]  # `1` `2` .. pairwise
        assert len(key_groups) == len(id_groups), f"keys and ids do not pair up in: {line}"
        for keys, ids in zip(key_groups, id_groups, strict=True):
            for binding_id in ids:
                found.setdefault(binding_id, set()).update(SHOWN_AS.get(key, key) for key in keys)
    return found


def bound_keys() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for cls in (ErrlogApp, ListTable, FilterBar, *ALL_SCREENS, *ALL_PANES):
        for klass in cls.__mro__:
            for binding in getattr(klass, "BINDINGS", None) or []:
                if isinstance(binding, Binding) and binding.id:
                    found.setdefault(binding.id, set()).update(k.strip() for k in binding.key.split(","))
    return found


def test_the_guide_documents_every_binding_with_its_keys() -> None:
    documented, bound = documented_keys(), bound_keys()
    assert set(bound) == binding_ids()
    assert sorted(set(bound) - set(documented)) == [], "bindings missing from the guide"
    assert sorted(set(documented) - set(bound)) == [], "ids in the guide that no binding has"
    wrong = {i: (documented[i], bound[i]) for i in bound if documented[i] != bound[i]}
    assert wrong == {}, "id: (keys in the guide, keys in the code)"


def test_the_key_check_catches_a_wrong_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text(GUIDE.read_text().replace("| `r` | `resolve` |", "| `z` | `resolve` |"))
    monkeypatch.setattr(f"{__name__}.GUIDE", guide)
    assert documented_keys()["resolve"] == {"z"} != bound_keys()["resolve"]


def test_the_guide_profiles_example_connects_by_name(
    isolated_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(block("guide.md", "tui-profiles").text)
    monkeypatch.setenv("ERRLOG_CONFIG", str(config))
    default = resolve_config(server=None, token=None, profile=None).remote
    assert default is not None and (default.server, default.source) == ("https://errlog.example.com", "profile prod")
    staging = resolve_config(server=None, token="elg_mine", profile="staging").remote
    assert staging is not None and (staging.server, staging.token) == ("https://errlog.staging.example.com", "elg_mine")


@pytest.mark.anyio
async def test_the_guide_keymap_example_rebinds_its_keys(
    isolated_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(block("guide.md", "tui-keymap").text)
    monkeypatch.setenv("ERRLOG_CONFIG", str(config))
    keymap = resolve_config(server=None, token=None, profile=None).keymap
    assert set(keymap) <= binding_ids() and {"resolve", "quit"} <= set(keymap)

    app = snapshot_app()
    app.requested_keymap = keymap
    async with app.run_test(size=(100, 60)) as pilot:
        await settle(pilot)
        await pilot.press("q")  # no longer quits
        await pilot.press("f1")
        await settle(pilot)
        rows = re.findall(r"^│\s*(\S.*?)  .*\[([\w.]+)\]", screen_text(app), re.M)
        shown = {binding_id: keys for keys, binding_id in rows}
        assert shown["resolve"] == "x" and shown["quit"] == "^q" and shown["help"] == "f1 ?"
        await pilot.press("escape", "ctrl+q")
        await pilot.pause()
    assert app.return_code == 0
