"""The docs cannot drift from the code: the deployment guide's settings table is the one the settings module
generates, every ERRLOG_* setting is documented there (and nothing else is), and every `errlog ...` command the docs
show exists in the CLI with the options it is given."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from errlog.cli import main
from errlog.settings import setting_docs, settings_markdown_table
from tests.docs.examples import DOCS, ROOT, fenced_blocks

DEPLOYMENT = DOCS / "deployment.md"
_ERRLOG_NAME = re.compile(r"\bERRLOG_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")
# Variables the docs name that belong to the services sending errors or to scripts, not to errlog's settings.
SERVICE_SIDE = {"ERRLOG_WEBHOOK_TOKEN", "ERRLOG_API_TOKEN", "ERRLOG_URL"}


def setting_names() -> set[str]:
    return {name for name, _, _ in setting_docs()}


def test_the_deployment_guide_carries_the_generated_settings_table():
    text = DEPLOYMENT.read_text()
    table = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", text, re.S)
    assert table is not None, "docs/deployment.md lost its <!-- settings-table --> markers"
    assert table.group(1) == settings_markdown_table(), "regenerate it with: python -m errlog.settings"


def test_every_setting_is_in_the_deployment_guide_and_every_name_there_is_a_setting():
    documented = set(_ERRLOG_NAME.findall(DEPLOYMENT.read_text()))
    assert setting_names() - documented == set(), "settings missing from docs/deployment.md"
    assert documented - setting_names() == set(), "docs/deployment.md names variables errlog does not read"


@pytest.mark.parametrize("doc", ["guide.md", "integrations.md", "architecture.md"])
def test_other_guides_name_only_real_settings(doc):
    named = set(_ERRLOG_NAME.findall((DOCS / doc).read_text()))
    assert named - setting_names() - SERVICE_SIDE == set()


def test_the_settings_module_is_the_only_code_that_names_its_variables():
    # A setting read somewhere else would be missing from the generated table.
    for part in ("collector", "db", "tasks", "tui"):
        for path in (ROOT / part).rglob("*.py"):
            assert "os.environ" not in path.read_text() or part == "tui", path


# --- errlog commands ----------------------------------------------------------------------------------------------

# Programs whose arguments include the word errlog as a database or user name, not as a command.
_NOT_A_COMMAND_AFTER = {"pg_dump", "createdb", "psql", "dropdb"}
_SHELL_OPERATORS = set("|;&<>()")


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote in prose: plain words will do
        return line.split()


def invocations(line: str) -> list[str]:
    """The argument lists of the `errlog` commands on one shell line (a path ending in /errlog counts)."""
    words = _words(line)
    found = []
    for i, word in enumerate(words):
        if word != "errlog" and not word.endswith("/errlog"):
            continue
        previous = words[i - 1] if i else ""
        if previous.startswith("-") or previous in _NOT_A_COMMAND_AFTER:
            continue
        arguments = []
        for following in words[i + 1 :]:
            if set(following) <= _SHELL_OPERATORS:
                break
            arguments.append(following)
        if arguments:
            found.append(shlex.join(arguments))
    return found


def shown_commands(path: Path) -> list[tuple[int, str]]:
    """(line, arguments) of each `errlog ...` the document shows: in shell and console blocks, in ExecStart= lines
    and in inline code. `errlog-tui` is another program and is left out."""
    found: list[tuple[int, str]] = []
    for info, text, line in fenced_blocks(path):
        if info not in ("sh", "console", "ini", "yaml", "dockerfile"):
            continue
        for offset, raw in enumerate(text.replace("\\\n", " ").splitlines()):
            if info == "ini":
                if not raw.startswith("ExecStart="):
                    continue
                raw = raw.removeprefix("ExecStart=")
            if info == "console":
                if not raw.startswith("$ "):
                    continue
                raw = raw[2:]
            found += [(line + offset + 1, arguments) for arguments in invocations(raw)]
    source = path.read_text()
    for match in re.finditer(r"(`+)errlog ([^`]+?)\1", source):
        found += [(source.count("\n", 0, match.start()) + 1, a) for a in invocations("errlog " + match.group(2))]
    return found


def check_invocation(arguments: str) -> None:
    """Walk errlog's click tree along `arguments`; raise AssertionError naming what does not exist."""
    words = shlex.split(arguments)
    command: click.Command = main
    ctx = click.Context(main, info_name="errlog")
    path = ["errlog"]
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        name = words.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"`{' '.join(path)} {name}`: no such command"
        command, path = sub, [*path, name]
        ctx = click.Context(command, info_name=name, parent=ctx)
    assert not isinstance(command, click.Group) or not words or words[0] in ("-h", "--help"), (
        f"`{' '.join(path)}` needs a subcommand"
    )
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)} | {"-h", "--help"}
    for word in words:
        if word.startswith("--") or (word.startswith("-") and len(word) == 2):
            option = word.split("=", 1)[0]
            assert option in options, f"`{' '.join(path)}` has no option {option}"


DOCUMENTS = sorted([*DOCS.glob("*.md"), ROOT / "README.md"])


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_errlog_command_in_the_docs_exists(path):
    for line, arguments in shown_commands(path):
        try:
            check_invocation(arguments)
        except AssertionError as exc:
            raise AssertionError(f"{path.relative_to(ROOT)}:{line}: {exc}") from None


def test_the_command_check_catches_a_made_up_command_and_option():
    with pytest.raises(AssertionError, match="no such command"):
        check_invocation("frobnicate")
    with pytest.raises(AssertionError, match="no option --periodic"):
        check_invocation("worker --periodic")
    with pytest.raises(AssertionError, match="no such command"):
        check_invocation("db migrate")
    assert invocations("pg_dump -U errlog errlog > errlog.sql") == []
    assert invocations("/opt/errlog/bin/errlog serve --port 8001 | tee log") == ["serve --port 8001"]
    check_invocation("oncall rotation --team checkout --participants a@example.com --start 2026-12-07")


def test_the_guides_show_the_commands_they_are_about():
    shown = {arguments.split()[0] for path in DOCUMENTS for _, arguments in shown_commands(path) if arguments.split()}
    assert {"serve", "worker", "db", "project", "token", "developer", "oncall", "config", "team"} <= shown


# --- links between the guides -------------------------------------------------------------------------------------


def anchors(path: Path) -> set[str]:
    """The anchors GitHub makes for a document's headings: lowercase, punctuation dropped, spaces to hyphens, and
    -1, -2, ... for repeats."""
    seen: dict[str, int] = {}
    found = set()
    text = re.sub(r"^(`{3,}).*?^\1$", "", path.read_text(), flags=re.M | re.S)  # headings inside code blocks are not
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


@pytest.mark.parametrize("name", ["guide.md", "integrations.md", "deployment.md", "architecture.md"])
def test_links_point_at_files_and_headings_that_exist(name):
    path = DOCS / name
    for target, anchor in re.findall(r"\]\(([\w./-]*\.md)?(?:#([\w-]+))?\)", path.read_text()):
        linked = (path.parent / target).resolve() if target else path
        if not target and not anchor:
            continue
        if target == "api.md" and not linked.exists():
            continue  # generated from the OpenAPI schema by its own tool
        assert linked.exists(), f"{name} links to missing {target}"
        if anchor:
            assert anchor in anchors(linked), f"{name} links to missing #{anchor} in {linked.name}"
