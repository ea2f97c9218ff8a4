"""The staff HTTP API: read cases, post events, health; bearer-token protected."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cases import repository
from cases.channels import Channel
from cases.db import make_engine, make_sessionmaker
from cases.settings import Settings
from cases.views import CaseView

logger = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False)


def _session(request: Request) -> Iterator[Session]:
    """One session per request, from the app's factory."""
    with request.app.state.sessions() as db:
        yield db


def _authorised(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuses requests without the staff token (compared in constant time)."""
    given = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(given, request.app.state.token):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


Db = Annotated[Session, Depends(_session)]


def create_app(settings: Settings, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Builds the staff API for `settings`; `sessions` defaults to one on the settings' URL."""
    if not settings.api_token:
        raise ValueError("CASES_API_TOKEN must be set for the staff API")
    views = CaseView.from_settings(settings)
    app = FastAPI(title="信访智能受理助手 · 案件服务", version="0.1.0")
    app.state.token = settings.api_token.encode()
    app.state.sessions = sessions or make_sessionmaker(make_engine(settings.database_url))
    protected = [Depends(_authorised)]

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        # Echo field names and reasons, never the submitted values (they may hold personal data).
        problems = [
            {"field": ".".join(str(part) for part in item["loc"]), "reason": item["msg"]}
            for item in error.errors()
        ]
        return JSONResponse({"detail": problems}, status_code=422)

    @app.get("/healthz")
    def healthz(db: Db) -> dict[str, str]:
        """Liveness and database reachability; no authentication."""
        try:
            db.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            logger.error("database unreachable: %s", type(error).__name__)
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "database unreachable"
            ) from error
        return {"status": "ok"}

    @app.get("/api/cases/{reference}", dependencies=protected)
    def get_case(reference: str, db: Db) -> dict[str, Any]:
        """One case with its fields, deadlines and history."""
        case = repository.get_case(db, reference)
        if case is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case")
        return views.render(case)

    @app.get("/api/cases", dependencies=protected)
    def list_cases(
        db: Db,
        channel: Annotated[Channel, Query()],
        user_id: Annotated[str, Query(min_length=1, max_length=128)],
    ) -> list[dict[str, Any]]:
        """The cases one petitioner filed through one channel account."""
        return [views.render(case) for case in repository.cases_of(db, channel, user_id)]

    @app.get("/api/handoffs", dependencies=protected)
    def list_handoffs(db: Db) -> list[dict[str, Any]]:
        """Conversations waiting for a person, oldest first."""
        return [
            {
                "id": item.id,
                "channel": item.channel,
                "user_id": item.user_id,
                "reason": item.reason,
                "at": item.created_at.isoformat(),
            }
            for item in repository.open_handoffs(db)
        ]

    return app
