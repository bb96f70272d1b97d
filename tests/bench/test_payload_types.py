"""`bench.payload_types` on the test PostgreSQL: every payload type measured, and only a *bench* database used."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench.make_corpus import main as make_corpus
from bench.payload_types import VARIANTS, main
from tests.conftest import temporary_postgres_database


@pytest.mark.postgres
def test_each_column_type_is_measured_and_the_scratch_table_dropped(postgres_admin_url, tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl.gz"
    assert make_corpus(["--sites", "5", "--deploys", "1", "--rounds", "1", "--out", str(corpus)]) == 0
    with temporary_postgres_database(postgres_admin_url, prefix="errlog_bench_test") as url:
        assert main(["--database-url", url, "--corpus", str(corpus), "--passes", "1"]) == 0
        out = capsys.readouterr().out
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as connection:
            assert connection.execute("SELECT to_regclass('payload_bench')").fetchone() == (None,)
    assert "5 payloads" in out
    for name in VARIANTS:
        line = next(line for line in out.splitlines() if line.strip().startswith(name))
        assert "PostgreSQL CPU" in line and "bytes" in line


def test_a_database_not_named_for_benchmarks_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--database-url", "postgresql+psycopg://postgres@127.0.0.1/production"])
    assert exit_info.value.code == 2
    assert "whose name contains 'bench'" in capsys.readouterr().err
