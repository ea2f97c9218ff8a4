"""The staff HTTP API: read cases, post events, health; bearer-token protected."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from cases import repository
from cases.channels import Channel
from cases.db import make_engine, make_sessionmaker
from cases.lifecycle import TransitionError
from cases.models import Case
from cases.pii import PiiCipher
from cases.schemas import EVENT_DISCRIMINATOR, EventIn
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
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)
]

# No staff request needs more: the longest event is two texts of 5,000 characters.
MAX_BODY_BYTES = 64 * 1024


async def _limit_body(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """Refuses bodies announced larger than MAX_BODY_BYTES before reading them."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        return JSONResponse({"detail": "request body too large"}, status_code=413)
    return await call_next(request)


def _reason(item: Any) -> str:
    """A validation problem in words, without echoing the submitted value."""
    if item.get("type") == "union_tag_invalid":
        expected = (item.get("ctx") or {}).get("expected_tags", "")
        return f"unknown event type; expected one of {expected}"
    if item.get("type") == "union_tag_not_found":
        return "field 'type' is required"
    return str(item["msg"])


def _replayed(sessions: sessionmaker[Session], reference: str, key: str) -> Case | None:
    """The case if an event under `key` is already recorded on it, else None."""
    with sessions() as db:
        case = repository.get_case(db, reference)
        if case is not None and any(event.idempotency_key == key for event in case.events):
            return case
    return None


def create_app(settings: Settings, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Builds the staff API for `settings`; `sessions` defaults to one on the settings' URL."""
    if not settings.api_token:
        raise ValueError("CASES_API_TOKEN must be set for the staff API")
    views = CaseView.from_settings(settings)
    app = FastAPI(title="信访智能受理助手 · 案件服务", version="0.1.0")
    app.state.token = settings.api_token.encode()
    if sessions is None:
        pii = PiiCipher(settings.pii_key) if settings.pii_key else None
        sessions = make_sessionmaker(make_engine(settings.database_url), pii=pii)
    app.state.sessions = sessions
    app.add_middleware(BaseHTTPMiddleware, dispatch=_limit_body)
    protected = [Depends(_authorised)]

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        # Echo field names and reasons, never the submitted values (they may hold personal data).
        problems = [
            {"field": ".".join(str(part) for part in item["loc"]), "reason": _reason(item)}
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

    @app.post(
        "/api/cases/{reference}/events",
        dependencies=protected,
        status_code=status.HTTP_201_CREATED,
        responses={404: {}, 409: {}, 413: {}, 422: {}},
    )
    def post_event(
        reference: str,
        event: Annotated[EventIn, Body(discriminator=EVENT_DISCRIMINATOR)],
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        """Appends an event the case's status allows; returns the updated case.

        Refused with 409 when the lifecycle forbids it; with an Idempotency-Key already used
        for this case, the event is not recorded again and the case is returned as it is.
        """
        try:
            with sessions.begin() as db:
                case = repository.add_event(
                    db, reference, event.to_event(), idempotency_key=idempotency_key
                )
                body = views.render(case)
        except repository.CaseNotFoundError as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case") from error
        except TransitionError as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
        except repository.IdempotencyKeyReusedError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from error
        except IntegrityError as error:
            # Another request appended to this case at the same moment (or recorded this
            # very key): nothing of this one was written.
            replay = _replayed(sessions, reference, idempotency_key) if idempotency_key else None
            if replay is None:
                logger.warning("case %s: concurrent event refused", reference)
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    "the case changed while this event was recorded; reload it and retry",
                ) from error
            body = views.render(replay)
        return body

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
