"""Tests of engine and session set-up."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from cases.models import Petitioner
from cases.pii import SESSION_INFO_KEY, PiiCipher


def test_errors_do_not_carry_parameters(sessions: sessionmaker[Session]) -> None:
    """A failed statement's message names no submitted value (they may be personal data)."""
    with pytest.raises(StatementError) as raised:
        with sessions.begin() as session:
            session.add(Petitioner(name="王建国", phone="13800138000"))  # type: ignore[arg-type]
    assert "13800138000" not in str(raised.value) and "王建国" not in str(raised.value)


def test_sessions_carry_the_factory_cipher(sessions: sessionmaker[Session]) -> None:
    """Every session of a factory built with a cipher holds that cipher."""
    with sessions() as one, sessions() as two:
        assert isinstance(one.info[SESSION_INFO_KEY], PiiCipher)
        assert one.info[SESSION_INFO_KEY] is two.info[SESSION_INFO_KEY]
