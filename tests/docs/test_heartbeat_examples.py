"""docs/guide.md's heartbeat examples, run as a reader would: the CLI creates the monitor on the live collector's
database, then the curl check-in and the sentry_sdk script check in against the live collector."""

from __future__ import annotations

import shlex
import stat

from click.testing import CliRunner
from sqlalchemy import select

from db.models import Heartbeat
from db.projects import dsn_public_keys, find_project
from errlog.cli import main
from tests.docs.examples import block
from tests.docs.run import python, run

DOC = "guide.md"


def add_documented_heartbeat(docs_project, database_url: str) -> None:
    """`errlog project create billing`, then the guide's `errlog heartbeat add` line, byte for byte."""
    runner = CliRunner()
    env = {"ERRLOG_DATABASE_URL": database_url}
    assert runner.invoke(main, ["project", "create", "billing"], env=env).exit_code == 0
    [line] = block(DOC, "heartbeat-add").text.splitlines()
    result = runner.invoke(main, shlex.split(line)[1:], env=env, prog_name="errlog")
    assert result.exit_code == 0, result.output
    assert "curl -fsS" in result.output


def heartbeat(docs_project) -> Heartbeat:
    with docs_project.api.collector.session() as session:
        [row] = session.scalars(select(Heartbeat)).all()
        return row


def substitute_billing(docs_project, text: str) -> str:
    """The guide's placeholders, for the `billing` project the example monitor belongs to."""
    with docs_project.api.collector.session() as session:
        project = find_project(session, "billing")
        key = dsn_public_keys(session, project.id)[0]
    text = text.replace(
        "https://<public_key>@errlog.example.com/<project_id>",
        docs_project.api.collector.settings.dsn_for(key, project.id),
    )
    text = text.replace("<project_id>", str(project.id)).replace("<public_key>", key)
    return docs_project.substitute(text)


def test_the_curl_check_in_reports_ok_and_error(docs_project, database_url, tmp_path):
    add_documented_heartbeat(docs_project, database_url)
    script = substitute_billing(docs_project, block(DOC, "heartbeat-curl").text)
    for job_exit, expected in ((0, "ok"), (1, "error")):
        job = tmp_path / "nightly-invoices"
        job.write_text(f"#!/bin/sh\nexit {job_exit}\n")
        job.chmod(job.stat().st_mode | stat.S_IXUSR)
        command = script.replace("/usr/local/bin/nightly-invoices", str(job))
        run(["bash", "-c", command], cwd=tmp_path, env=docs_project.environment())
        assert heartbeat(docs_project).last_status == expected
    assert heartbeat(docs_project).state == "failing"


def test_the_sentry_sdk_check_ins_reach_the_monitor(docs_project, database_url, tmp_path):
    add_documented_heartbeat(docs_project, database_url)
    script = tmp_path / "nightly.py"
    script.write_text(substitute_billing(docs_project, block(DOC, "heartbeat-python").text))
    python(script, env=docs_project.environment())
    row = heartbeat(docs_project)
    assert (row.state, row.last_status) == ("ok", "ok")
