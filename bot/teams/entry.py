"""`POST /api/messages`, where every activity enters: the bearer token is validated
before anything is parsed (anonymous mode, for a local emulator only, skips that when
no token is sent), the activity must name the serviceUrl the token was issued for —
else a valid token could send the bot's own outbound token anywhere — and an activity
Teams delivers again is claimed once (transport.replay_key). This is the HTTP edge: a
turn the SDK cannot even start is answered 500, logged with a reference number.
"""

from __future__ import annotations

import asyncio
import logging

import jwt
from microsoft_agents.hosting.core import Agent
from microsoft_agents.hosting.core.authorization import ClaimsIdentity, JwtTokenValidator
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.config import Settings
from bot.runtime.edge import logged
from bot.runtime.outage import unreachable
from bot.teams.service import PLATFORM
from bot.teams.transport import Adapter, SdkRequest, auth, issuers, replay_key, same_service
from handlers.core import replays
from handlers.core.context import Context

log = logging.getLogger("dxdesk.teams")
TOKEN_ERRORS: tuple[type[Exception], ...] = (jwt.PyJWTError, ValueError, KeyError)
"""A token the SDK's validator refuses: malformed, expired, badly signed, its keys not
to be fetched (PyJWT's errors), a foreign audience (ValueError), no key id (KeyError)."""


class TurnEntry:
    def __init__(self, ctx: Context, settings: Settings, adapter: Adapter) -> None:
        self.ctx, self.adapter = ctx, adapter
        self.anonymous = settings.teams_anonymous
        self.validator = JwtTokenValidator(auth(settings))
        self.issuers = issuers(settings)

    async def handle(self, request: Request, agent: Agent) -> Response:
        claims = await self.claims(request.headers.get("authorization", ""))
        if claims is None:
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "Invalid JSON"}, status_code=400)
        if claims.is_authenticated and not same_service(claims, body):
            log.warning("teams token refused: its serviceurl is not the activity's")
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        key = replay_key(body)
        try:
            first = key is None or await asyncio.to_thread(
                replays.first_time, self.ctx, PLATFORM, key
            )
        except SQLAlchemyError as error:  # the turn answers busy (transport.Adapter)
            if not unreachable(error):
                raise
            key, first = None, True
        if not first:
            log.info("teams activity delivered again: dropped")
            return Response(status_code=200)
        try:
            response = await self.adapter.process_request(SdkRequest(request, body, claims), agent)
        except Exception:  # the edge: e.g. no outbound token (a wrong TEAMS_APP_PASSWORD)
            logged(log, "teams activity not processed")
            await asyncio.to_thread(self.forget, key)
            return JSONResponse({"error": "Internal error"}, status_code=500)
        if response.status_code >= 500:
            await asyncio.to_thread(self.forget, key)
        if response.body is None:
            return Response(status_code=response.status_code)
        return JSONResponse(response.body, status_code=response.status_code)

    async def claims(self, header: str) -> ClaimsIdentity | None:
        """The token's claims when it is valid and was issued by Bot Framework or by
        Entra ID for this tenant (the SDK checks signature, expiry and audience; the
        issuer only chooses its keys)."""
        scheme, _, token = header.partition(" ")
        if not token:
            return self.validator.get_anonymous_claims() if self.anonymous else None
        if scheme.lower() != "bearer":
            return None
        try:
            claims = await self.validator.validate_token(token)
        except TOKEN_ERRORS as error:
            log.warning("teams token refused: %s", type(error).__name__)
            return None
        if claims.get_claim_value("iss") not in self.issuers:
            log.warning("teams token refused: issuer %s", claims.get_claim_value("iss"))
            return None
        if not isinstance(claims.get_claim_value("exp"), int | float):
            log.warning("teams token refused: it does not expire")  # the SDK checks exp if any
            return None
        return claims

    def forget(self, key: str | None) -> None:
        """The activity's handling failed: Teams' redelivery is handled, not dropped."""
        if key is not None:
            replays.forget(self.ctx, PLATFORM, key)
