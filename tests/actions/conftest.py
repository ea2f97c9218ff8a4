"""Fixtures of the action tests."""

from tests.casedb import database_url, sessions  # noqa: F401
