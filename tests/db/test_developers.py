import re

import pytest
from sqlalchemy import select

from db.developers import (
    DeveloperError,
    add_developer,
    create_team,
    find_developer,
    find_team,
    list_developers,
    list_teams,
)
from db.models import Developer


def make_developer(session, name="Ana Lima", email="ana@example.com", **fields):
    return add_developer(session, name=name, email=email, **fields)


def test_add_developer_stores_normalised_contacts(db_session):
    developer = make_developer(
        db_session,
        email=" Ana@Example.com ",
        phone="+49 151 2345-6789",
        slack_id="U024BE7LH",
        ntfy_topic="ana-pager",
        timezone="Europe/Berlin",
    )
    db_session.commit()

    stored = db_session.scalars(select(Developer)).one()
    assert stored.id == developer.id
    assert (stored.email, stored.phone, stored.slack_id, stored.ntfy_topic, stored.timezone) == (
        "ana@example.com",
        "+4915123456789",
        "U024BE7LH",
        "ana-pager",
        "Europe/Berlin",
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "invalid e-mail address 'not-an-email'"),
        ({"email": "a b@example.com"}, "invalid e-mail address"),
        ({"phone": "0151 2345678"}, "E.164"),
        ({"phone": "+0151234567"}, "E.164"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "../etc/passwd"}, "unknown time zone"),
        ({"timezone": "Europe"}, "unknown time zone 'Europe'"),
        ({"timezone": "x" * 300}, "unknown time zone"),
        ({"ntfy_topic": "has space"}, "invalid ntfy topic"),
        ({"slack_id": "U 1"}, "invalid Slack member id"),
        ({"name": "  "}, "needs a name"),
    ],
)
def test_add_developer_rejects_bad_fields_with_a_clear_message(db_session, fields, message):
    with pytest.raises(DeveloperError, match=message):
        make_developer(db_session, **fields)
    assert db_session.scalars(select(Developer)).all() == []


def test_duplicate_email_is_rejected_whatever_its_case(db_session):
    make_developer(db_session, email="ana@example.com")
    with pytest.raises(DeveloperError, match=re.escape("ana@example.com already exists")):
        make_developer(db_session, name="Other Ana", email="ANA@example.com")


def test_find_developer_by_id_or_email(db_session):
    ana = make_developer(db_session)
    bob = make_developer(db_session, name="Bob", email="bob@example.com")

    assert find_developer(db_session, ana.id) is ana
    assert find_developer(db_session, str(bob.id)) is bob
    assert find_developer(db_session, "BOB@example.com") is bob
    with pytest.raises(DeveloperError, match=re.escape("no developer with id or e-mail 'carol@example.com'")):
        find_developer(db_session, "carol@example.com")
    assert [d.name for d in list_developers(db_session)] == ["Ana Lima", "Bob"]


def test_create_team_adds_the_lead_as_a_member(db_session):
    ana = make_developer(db_session)
    bob = make_developer(db_session, name="Bob", email="bob@example.com")
    carol = make_developer(db_session, name="Carol", email="carol@example.com")

    team = create_team(
        db_session, "payments", ["ana@example.com", str(bob.id), "ana@example.com"], lead_ref=carol.email
    )
    db_session.commit()

    found = find_team(db_session, "payments")
    assert found.id == team.id
    assert find_team(db_session, str(team.id)) is found
    assert found.lead_developer_id == carol.id
    assert sorted(member.developer_id for member in found.members) == sorted([ana.id, bob.id, carol.id])
    assert [t.name for t in list_teams(db_session)] == ["payments"]


def test_create_team_rejects_duplicates_and_unknown_members(db_session):
    make_developer(db_session)
    create_team(db_session, "payments", ["ana@example.com"])
    with pytest.raises(DeveloperError, match="a team named 'payments' already exists"):
        create_team(db_session, "payments", [])
    with pytest.raises(DeveloperError, match=re.escape("no developer with id or e-mail 'ghost@example.com'")):
        create_team(db_session, "search", ["ghost@example.com"])
    with pytest.raises(DeveloperError, match="no team named 'search'"):
        find_team(db_session, "search")
