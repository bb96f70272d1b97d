import json

from sqlalchemy import select

from db.keys import hash_secret
from db.models import ApiToken, AuditEntry
from db.session import create_db_engine, make_session_factory
from db.tokens import authenticate


def test_create_shows_the_secret_once_and_stores_only_its_hash(errlog, read):
    assert errlog("developer", "add", "--name", "Ana", "--email", "ana@example.com").exit_code == 0
    result = errlog("token", "create", "ops", "--role", "responder", "--developer", "ana@example.com", "--json")
    assert result.exit_code == 0, result.output

    created = json.loads(result.stdout)
    assert {created["name"], created["role"]} == {"ops", "responder"}
    secret = created["token"]
    [token] = read(select(ApiToken))
    assert token.token_hash == hash_secret(secret)
    assert token.prefix == secret[:10] and token.developer_id is not None
    stored = {column.name: getattr(token, column.name) for column in ApiToken.__table__.columns}
    assert secret not in {str(value) for value in stored.values()}

    human_list = errlog("token", "list").stdout
    json_list = errlog("token", "list", "--json").stdout
    for listing in (human_list, json_list):
        assert secret not in listing and token.token_hash not in listing
        assert secret[:10] in listing
    [row] = json.loads(json_list)
    assert (row["name"], row["role"], row["developer"], row["revoked_at"]) == (
        "ops",
        "responder",
        "ana@example.com",
        None,
    )


def test_human_create_prints_the_secret(errlog, read):
    result = errlog("token", "create", "ci", "--role", "viewer")
    assert result.exit_code == 0
    [token] = read(select(ApiToken))
    secret = next(word for word in result.stdout.split() if word.startswith("elg_"))
    assert hash_secret(secret) == token.token_hash
    assert "shown only this once" in result.stdout


def test_revoke_stops_the_token_and_is_audited_once(errlog, read, database_url):
    created = json.loads(errlog("token", "create", "ops", "--role", "admin", "--json").stdout)
    secret = created["token"]

    first = errlog("token", "revoke", "ops")
    assert first.exit_code == 0 and "revoked token ops" in first.stdout
    again = errlog("token", "revoke", str(created["id"]))
    assert again.exit_code == 0 and "already revoked" in again.stdout

    [row] = json.loads(errlog("token", "list", "--json").stdout)
    assert row["revoked_at"] is not None
    engine = create_db_engine(database_url)
    with make_session_factory(engine)() as session:
        assert authenticate(session, secret) is None
    engine.dispose()
    entries = read(select(AuditEntry).order_by(AuditEntry.id))
    assert [e.action for e in entries] == ["token.create", "token.revoke"]
    assert {e.target_id for e in entries} == {str(created["id"])}
    assert entries[1].before == {"revoked_at": None} and entries[1].after["revoked_at"]
    assert all(secret not in json.dumps(e.after) for e in entries)


def test_token_errors(errlog, read, one_line_error):
    one_line_error(errlog("token", "revoke", "nope"), "no token named 'nope'")
    one_line_error(
        errlog("token", "create", "ops", "--role", "admin", "--developer", "ghost@example.com"),
        "no developer with id or e-mail 'ghost@example.com'",
    )
    assert errlog("token", "create", "ops", "--role", "admin").exit_code == 0
    one_line_error(errlog("token", "create", "ops", "--role", "viewer"), "a token named 'ops' already exists")
    bad_role = errlog("token", "create", "x", "--role", "root")
    assert bad_role.exit_code == 2 and "'root' is not one of" in bad_role.stderr
    assert len(read(select(ApiToken))) == 1
