"""Fixtures of the case-domain tests."""

from tests.casedb import database_url, sessions  # noqa: F401
