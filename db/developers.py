"""Developers and teams: adding them with validated contact details and finding them by id, e-mail or name."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Developer, Team, TeamMember

# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is the mail server's business.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
# E.164: a plus, a country code not starting with 0, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# ntfy.sh's own topic rule.
NTFY_TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
SLACK_ID = re.compile(r"^[A-Za-z0-9]{2,64}$")


class DeveloperError(ValueError):
    """A developer or team cannot be added or found as asked; the message says why."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise DeveloperError(f"invalid e-mail address {email!r}: expected something like ana@example.com")
    return email


def normalise_phone(phone: str) -> str:
    # People paste numbers with spaces, dashes and brackets; SMS gateways want bare E.164.
    compact = re.sub(r"[\s\-().]", "", phone)
    if not E164.match(compact):
        raise DeveloperError(
            f"invalid phone number {phone!r}: use international E.164 form with a leading +, e.g. +4915123456789"
        )
    return compact


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder ("Europe") or a huge name
        raise DeveloperError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC") from None
    return name


def add_developer(
    session: Session,
    *,
    name: str,
    email: str,
    phone: str | None = None,
    slack_id: str | None = None,
    ntfy_topic: str | None = None,
    timezone: str = "UTC",
) -> Developer:
    name = name.strip()
    if not name or len(name) > 100:
        raise DeveloperError("a developer needs a name of 1-100 characters")
    email = normalise_email(email)
    if session.scalar(select(Developer.id).where(func.lower(Developer.email) == email)) is not None:
        raise DeveloperError(f"a developer with e-mail {email} already exists")
    if phone is not None:
        phone = normalise_phone(phone)
    if slack_id is not None and not SLACK_ID.match(slack_id):
        raise DeveloperError(f"invalid Slack member id {slack_id!r}: expected letters and digits, e.g. U024BE7LH")
    if ntfy_topic is not None and not NTFY_TOPIC.match(ntfy_topic):
        raise DeveloperError(f"invalid ntfy topic {ntfy_topic!r}: use 1-64 letters, digits, '-' or '_'")
    developer = Developer(
        name=name,
        email=email,
        phone=phone,
        slack_id=slack_id,
        ntfy_topic=ntfy_topic,
        timezone=check_timezone(timezone),
    )
    session.add(developer)
    session.flush()
    return developer


def find_developer(session: Session, ref: str | int) -> Developer:
    """A developer by id or e-mail address (case-insensitive)."""
    ref = str(ref).strip()
    if ref.isdigit():
        developer = session.get(Developer, int(ref))
    else:
        developer = session.scalars(select(Developer).where(func.lower(Developer.email) == ref.lower())).first()
    if developer is None:
        raise DeveloperError(f"no developer with id or e-mail {ref!r}")
    return developer


def list_developers(session: Session) -> list[Developer]:
    return list(session.scalars(select(Developer).order_by(Developer.name, Developer.id)))


def create_team(
    session: Session, name: str, member_refs: Iterable[str | int], lead_ref: str | int | None = None
) -> Team:
    """A team of the given developers; the lead, if any, is made a member too."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DeveloperError("a team needs a name of 1-100 characters")
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise DeveloperError(f"a team named {name!r} already exists")
    members: dict[int, Developer] = {}
    for ref in member_refs:
        developer = find_developer(session, ref)
        members.setdefault(developer.id, developer)
    lead = find_developer(session, lead_ref) if lead_ref is not None else None
    if lead is not None:
        members.setdefault(lead.id, lead)
    team = Team(
        name=name,
        lead_developer_id=lead.id if lead else None,
        members=[TeamMember(developer_id=dev_id, developer=dev) for dev_id, dev in members.items()],
    )
    session.add(team)
    session.flush()
    return team


def find_team(session: Session, ref: str | int) -> Team:
    """A team by name or id."""
    ref = str(ref).strip()
    team = session.scalars(select(Team).where(Team.name == ref)).first()
    if team is None and ref.isdigit():
        team = session.get(Team, int(ref))
    if team is None:
        raise DeveloperError(f"no team named {ref!r}")
    return team


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))
