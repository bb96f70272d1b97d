from sqlalchemy import select

from db.enums import Role
from db.models import ApiToken
from db.tokens import authenticate, create_token


def test_token_round_trip(db_session):
    new = create_token(db_session, "ops", Role.RESPONDER)
    db_session.commit()
    assert authenticate(db_session, new.secret).id == new.token.id
    assert db_session.scalar(select(ApiToken.token_hash)) != new.secret
