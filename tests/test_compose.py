"""The container packaging holds together: docker-compose.yml, the Dockerfile, .dockerignore and the CLI they call."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from errlog.cli import main
from errlog.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

HEALTH_PATH = "/api/error-logging/webhook/health/"
ERRLOG_SERVICES = {"migrate", "collector", "scheduler", "worker"}
BACKING_SERVICES = {"postgres": "postgres:16", "redis": "redis:7", "mongo": "mongo:7"}
EXPECTED_ENVIRONMENT = {
    "ERRLOG_DATABASE_URL": "postgresql+psycopg://errlog:${POSTGRES_PASSWORD:-errlog}@postgres:5432/errlog",
    "ERRLOG_REDIS_URL": "redis://redis:6379/0",
    "ERRLOG_MONGO_URL": "${ERRLOG_MONGO_URL:-}",
    "ERRLOG_PUBLIC_URL": "${ERRLOG_PUBLIC_URL:-http://localhost:8000}",
}
# The module behind each subcommand the packaging runs. A command whose module does not exist yet is skipped, not
# failed: serve and worker were written alongside this file.
CLI_MODULES = {"serve": "errlog/cli/serve.py", "worker": "errlog/cli/worker.py", "db": "errlog/cli/db.py"}


# ---- reading the files ----


@cache
def compose() -> dict[str, Any]:
    # PyYAML's safe loader resolves the `<<: *errlog` merge keys the way Compose does.
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict), "docker-compose.yml must be a mapping"
    return document


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def errlog_services() -> dict[str, dict[str, Any]]:
    """Services that run the errlog image, recognised by their command line."""
    return {name: svc for name, svc in services().items() if list(svc.get("command") or [])[:1] == ["errlog"]}


def command_of(service: Mapping[str, Any]) -> list[str]:
    command = service["command"]
    assert isinstance(command, list), f"use the exec (list) form for commands, not {command!r}"
    return [str(part) for part in command]


def healthcheck_text(service: Mapping[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>.*))?", re.DOTALL)


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Compose's `$VAR`, `${VAR}`, `${VAR-default}`, `${VAR:-default}` and `$$`; other forms are refused."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return environ.get(match["named"], "")
        braced = _BRACED.fullmatch(match["braced"])
        if braced is None:
            raise ValueError(f"unsupported interpolation {match[0]!r} in {value!r}")
        name, op, default = braced["name"], braced["op"], braced["default"] or ""
        if op == ":-":
            return environ.get(name) or default
        if op == "-":
            return environ.get(name, default)
        return environ.get(name, "")

    return _VARIABLE.sub(replace, value)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined and comment lines dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines even inside a continued instruction.
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical = pending + line
        pending = ""
        keyword, _, arguments = logical.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends in a continuation line"
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def the_only(instructions: list[tuple[str, str]], keyword: str) -> str:
    found = [arguments for kw, arguments in instructions if kw == keyword]
    assert len(found) == 1, f"expected one {keyword} in the final stage, found {found}"
    return found[0]


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            for token in shlex.split(arguments):
                name, sep, value = token.partition("=")
                assert sep, f"use ENV NAME=value, not {arguments!r}"
                env[name] = value
    return env


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `path` out of the build context: the last matching pattern wins, `!` re-includes,
    and a pattern matching a folder covers everything in it."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        if pattern.startswith("**/"):
            matches = any(fnmatch.fnmatchcase(c.split("/")[-1], pattern[3:]) for c in candidates)
        else:
            matches = any(fnmatch.fnmatchcase(c, pattern) for c in candidates)
        if matches:
            excluded = not negated
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


# ---- the helpers above, on small inputs ----


def test_interpolate_follows_compose_rules() -> None:
    environ = {"SET": "value", "EMPTY": ""}
    assert interpolate("a ${SET} $SET $$SET", environ) == "a value value $SET"
    assert interpolate("${UNSET:-fallback} ${EMPTY:-fallback} ${EMPTY-fallback}", environ) == "fallback fallback "
    assert interpolate("${UNSET:-}", environ) == ""
    with pytest.raises(ValueError, match="unsupported interpolation"):
        interpolate("${SET:?must be set}", environ)


def test_dockerfile_instructions_join_continuations_and_drop_comments() -> None:
    text = "# syntax=docker/dockerfile:1\nFROM x AS a\nRUN one \\\n    # note\n    two\nenv A=1 \\\n  B=2\n"
    assert dockerfile_instructions(text) == [("FROM", "x AS a"), ("RUN", "one  two"), ("ENV", "A=1  B=2")]
    assert dockerfile_env(dockerfile_instructions(text)) == {"A": "1", "B": "2"}


def test_dockerignored_applies_patterns_in_order() -> None:
    patterns = ["**/__pycache__", "docs", "*.md", "!README.md"]
    assert dockerignored("docs/guide.txt", patterns)
    assert dockerignored("db/__pycache__/x.pyc", patterns)
    assert dockerignored("NOTES.md", patterns)
    assert not dockerignored("README.md", patterns)
    assert not dockerignored("db/models/issues.py", patterns)


# ---- docker-compose.yml ----


def test_compose_defines_the_services() -> None:
    assert set(services()) == set(BACKING_SERVICES) | ERRLOG_SERVICES
    assert set(errlog_services()) == ERRLOG_SERVICES


@pytest.mark.parametrize(("name", "image"), sorted(BACKING_SERVICES.items()))
def test_backing_images_are_pinned_to_a_major_version(name: str, image: str) -> None:
    repository, major = image.split(":")
    assert re.fullmatch(rf"{repository}:{major}(?:[.-][\w.-]+)?", services()[name]["image"]), (
        f"{name} must run {repository} {major}.x, not {services()[name]['image']!r}"
    )


@pytest.mark.parametrize(
    ("name", "words"),
    [("postgres", ["pg_isready"]), ("redis", ["redis-cli", "ping"]), ("mongo", ["mongosh", "ping"])],
)
def test_backing_services_have_healthchecks(name: str, words: list[str]) -> None:
    test = services()[name]["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL")
    for word in words:
        assert word in healthcheck_text(services()[name])


def test_every_errlog_service_shares_the_x_errlog_config() -> None:
    shared = compose()["x-errlog"]
    assert shared["environment"] == EXPECTED_ENVIRONMENT
    for name, service in errlog_services().items():
        for key in ("image", "build", "environment", "volumes"):
            assert service[key] == shared[key], f"{name}.{key} differs from x-errlog"
    # Shared through the anchor, not pasted into each service.
    assert COMPOSE_FILE.read_text().count("ERRLOG_DATABASE_URL:") == 1


def test_the_shared_environment_is_a_valid_errlog_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in compose()["x-errlog"]["environment"].items():
        monkeypatch.setenv(name, interpolate(value, environ={}))
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://errlog:errlog@postgres:5432/errlog"
    assert settings.redis_url == "redis://redis:6379/0"
    assert not settings.mongo_url, "the archive must be off unless ERRLOG_MONGO_URL is set"
    assert settings.public_url == "http://localhost:8000"


def test_errlog_data_dir_is_a_named_volume_at_the_images_data_dir() -> None:
    data_dir = dockerfile_env(final_stage(dockerfile_instructions(DOCKERFILE.read_text()))).get("ERRLOG_DATA_DIR")
    assert data_dir, "the image sets no ERRLOG_DATA_DIR"
    for name, service in errlog_services().items():
        volume, _, target = service["volumes"][0].partition(":")
        assert target == data_dir, f"{name} must keep {data_dir} on a volume"
        assert volume in compose()["volumes"], f"{name} mounts {volume!r}, which is not a named volume"


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("migrate", {"postgres": "service_healthy"}),
        ("collector", {"migrate": "service_completed_successfully", "redis": "service_healthy"}),
        ("scheduler", {"migrate": "service_completed_successfully", "redis": "service_healthy"}),
        ("worker", {"migrate": "service_completed_successfully", "redis": "service_healthy"}),
    ],
)
def test_start_order_waits_for_healthy_dependencies(name: str, needs: dict[str, str]) -> None:
    depends_on = services()[name]["depends_on"]
    assert {dep: spec["condition"] for dep, spec in depends_on.items()} == needs


def test_optional_services_are_in_profiles_and_nothing_always_on_needs_them() -> None:
    assert services()["mongo"].get("profiles") == ["archive"]
    assert services()["worker"].get("profiles") == ["scale"]
    optional = {name for name, service in services().items() if service.get("profiles")}
    for name, service in services().items():
        if not service.get("profiles"):
            assert not optional & set(service.get("depends_on", {})), f"{name} depends on a service in a profile"


def test_periodic_jobs_run_in_exactly_one_container() -> None:
    workers = {name: command_of(svc) for name, svc in errlog_services().items() if command_of(svc)[1] == "worker"}
    periodic = [name for name, command in workers.items() if "--no-periodic" not in command]
    assert periodic == ["scheduler"]
    assert services()["scheduler"].get("deploy", {}).get("replicas", 1) == 1
    assert not services()["scheduler"].get("profiles")


def test_commands() -> None:
    assert command_of(services()["migrate"]) == ["errlog", "db", "upgrade"]
    assert command_of(services()["collector"]) == [
        "errlog", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2",
    ]  # fmt: skip
    assert command_of(services()["scheduler"]) == ["errlog", "worker", "--workers", "2"]
    assert command_of(services()["worker"]) == ["errlog", "worker", "--workers", "4", "--no-periodic"]


def test_collector_is_published_and_health_checked_on_its_port() -> None:
    collector = services()["collector"]
    command = command_of(collector)
    port = command[command.index("--port") + 1]
    assert collector["ports"] == [f"{port}:{port}"]
    assert f"127.0.0.1:{port}{HEALTH_PATH}" in healthcheck_text(collector)
    assert "curl" not in healthcheck_text(collector), "python:3.11-slim has no curl"


def test_containers_without_an_http_server_turn_the_images_healthcheck_off() -> None:
    for name in ("migrate", "scheduler", "worker"):
        assert services()[name].get("healthcheck") == {"disable": True}, f"{name} would run the HTTP healthcheck"


def test_restart_policies() -> None:
    for name, service in services().items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service["restart"] == expected, f"{name} restarts {service.get('restart')!r}"


# ---- docker compose itself, when its CLI is here (no engine needed) ----


@cache
def docker_compose_missing() -> str | None:
    """Why `docker compose` cannot be run here, or None when it can."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
    if version.returncode != 0:
        output = (version.stderr or version.stdout).strip().splitlines()
        return f"the docker compose plugin is not installed ({output[0] if output else 'no output'})"
    return None


def docker_compose(*args: str) -> subprocess.CompletedProcess[str]:
    reason = docker_compose_missing()
    if reason:
        pytest.skip(f"cannot check with `docker compose config`: {reason}")
    return subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("profiles", [[], ["archive"], ["scale"], ["archive", "scale"]], ids=str)
def test_docker_compose_accepts_the_file(profiles: list[str]) -> None:
    profile_args = [arg for profile in profiles for arg in ("--profile", profile)]
    result = docker_compose(*profile_args, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_docker_compose_sees_the_same_services() -> None:
    result = docker_compose("--profile", "archive", "--profile", "scale", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)["services"]
    assert set(resolved) == set(services())
    assert resolved["collector"]["environment"]["ERRLOG_REDIS_URL"] == "redis://redis:6379/0"


# ---- Dockerfile and .dockerignore ----


def test_dockerfile_is_multi_stage_on_python_slim() -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    bases = [arguments.split()[0] for keyword, arguments in instructions if keyword == "FROM"]
    assert len(bases) >= 2, "build and runtime stages"
    assert set(bases) == {"python:3.11-slim"}
    assert any(
        keyword == "RUN" and re.search(r"pip install\b.*\s\.(\s|$)", arguments) for keyword, arguments in instructions
    ), "the project is installed with `pip install .`"
    assert any(
        keyword == "COPY" and arguments.startswith("--from=") for keyword, arguments in final_stage(instructions)
    )


def test_dockerfile_runtime_stage() -> None:
    stage = final_stage(dockerfile_instructions(DOCKERFILE.read_text()))
    user = the_only(stage, "USER").split(":")[0]
    assert user not in ("root", "0"), "the image must not run as root"
    assert dockerfile_env(stage).get("ERRLOG_DATA_DIR") == "/data"
    assert "/data" in json.loads(the_only(stage, "VOLUME"))
    assert the_only(stage, "EXPOSE") == "8000"
    assert json.loads(the_only(stage, "CMD")) == ["errlog", "serve", "--host", "0.0.0.0", "--port", "8000"]
    labels = the_only(stage, "LABEL")
    for label in ("org.opencontainers.image.title", "org.opencontainers.image.version"):
        assert label in labels


def test_dockerfile_healthcheck_asks_the_health_endpoint_with_urllib() -> None:
    healthcheck = the_only(final_stage(dockerfile_instructions(DOCKERFILE.read_text())), "HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    assert command, f"HEALTHCHECK must run a command: {healthcheck!r}"
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request" in argv[2]
    assert f"http://127.0.0.1:8000{HEALTH_PATH}" in argv[2]
    assert "--timeout=" in options


def test_the_health_path_is_a_collector_route() -> None:
    if not (ROOT / "collector" / "health.py").exists():
        pytest.skip("collector/health.py is not written yet")
    from collector import health

    assert HEALTH_PATH in {route.path for route in health.routes}


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "README.md",
        "errlog/settings.py",
        "db/migrations/versions/0001_initial_schema.py",
        "db/migrations/script.py.mako",
        "collector/__init__.py",
        "tasks/__init__.py",
        "tui/app.tcss",
    ],
)
def test_dockerignore_sends_what_pip_install_needs(path: str) -> None:
    assert not dockerignored(path, dockerignore_patterns()), f".dockerignore keeps {path} out of the build"


@pytest.mark.parametrize(
    "path", [".git/HEAD", ".env", "tests/conftest.py", "errlog/__pycache__/settings.cpython-311.pyc", "errlog.db"]
)
def test_dockerignore_keeps_out_repository_state_and_secrets(path: str) -> None:
    assert dockerignored(path, dockerignore_patterns()), f".dockerignore lets {path} into the build"


# ---- the CLI behind the commands ----


def command_lines() -> list[tuple[str, list[str]]]:
    """Every errlog command line the packaging runs: the compose services' and the image's default."""
    lines = [(f"compose:{name}", command_of(service)) for name, service in sorted(errlog_services().items())]
    image_cmd = the_only(final_stage(dockerfile_instructions(DOCKERFILE.read_text())), "CMD")
    return [*lines, ("Dockerfile:CMD", json.loads(image_cmd))]


def check_command_line(group: click.Group, argv: list[str]) -> None:
    """Fail unless `argv` (after the program name) names a documented command whose options exist, are documented
    and parse. Walks down the groups the way click does, without invoking anything."""
    shown = " ".join(argv)
    context = click.Context(group, info_name=argv[0])
    command: click.Command = group
    args = argv[1:]
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        subcommand = command.get_command(context, args[0])
        assert subcommand is not None, f"`{shown}`: no such command `{args[0]}`"
        command, args = subcommand, args[1:]
        context = click.Context(command, info_name=command.name, parent=context)
    assert not isinstance(command, click.Group), f"`{shown}` names a group, not a command"
    assert command.help or command.short_help, f"`{shown}` has no help text"
    options = {opt: param for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    for arg in args:
        if arg.startswith("--"):
            assert arg in options, f"`{shown}`: no option {arg}"
            param = options[arg]
            assert isinstance(param, click.Option) and param.help, f"`{shown}`: {arg} has no help text"
    # Right option types, nothing missing, nothing extra; raises click.UsageError otherwise.
    command.make_context(command.name, list(args), parent=context)


def make_cli() -> click.Group:
    """A small CLI shaped like errlog's, to test check_command_line on."""

    @click.group()
    def cli() -> None:
        """Top."""

    @cli.command("serve")
    @click.option("--port", type=int, default=8000, help="Port.")
    @click.option("--quiet", is_flag=True)
    def serve(port: int, quiet: bool) -> None:
        """Serve."""

    @cli.group("db")
    def db() -> None:
        """Database."""

    @db.command("upgrade")
    def upgrade() -> None:
        """Upgrade."""

    return cli


def test_check_command_line_accepts_documented_commands() -> None:
    check_command_line(make_cli(), ["errlog", "serve", "--port", "8000"])
    check_command_line(make_cli(), ["errlog", "db", "upgrade"])


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["errlog", "worker"], "no such command `worker`"),
        (["errlog", "db"], "names a group"),
        (["errlog", "serve", "--workers", "2"], "no option --workers"),
        (["errlog", "serve", "--quiet"], "--quiet has no help text"),
    ],
)
def test_check_command_line_rejects(argv: list[str], problem: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(problem)):
        check_command_line(make_cli(), argv)


def test_check_command_line_rejects_values_of_the_wrong_type() -> None:
    with pytest.raises(click.BadParameter):
        check_command_line(make_cli(), ["errlog", "serve", "--port", "eighty"])


@pytest.mark.parametrize(("where", "argv"), command_lines(), ids=[where for where, _ in command_lines()])
def test_commands_are_documented_errlog_commands(where: str, argv: list[str]) -> None:
    assert argv[0] == "errlog", f"{where}: {argv}"
    module = CLI_MODULES.get(argv[1])
    assert module is not None, f"{where}: no known CLI module for `errlog {argv[1]}`"
    if not (ROOT / module).exists():
        pytest.skip(f"{module} is not written yet, so `errlog {argv[1]}` cannot be checked")
    check_command_line(main, argv)
