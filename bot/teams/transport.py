"""How activities reach the bot and its answers leave: the Starlette request in the
SDK's shape, the SDK's HTTP adapter, and the tokens — inbound JWTs checked (signature,
expiry, audience by the SDK; issuer and serviceUrl here), outbound ones from Entra ID
through MSAL (none in anonymous mode, for local development only)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from microsoft_agents.hosting.core import RestChannelServiceClientFactory, TurnContext
from microsoft_agents.hosting.core.authorization import AgentAuthConfiguration, ClaimsIdentity
from microsoft_agents.hosting.core.http import HttpAdapterBase
from starlette.requests import Request

from bot.config import Settings
from bot.runtime.edge import logged
from bot.runtime.outage import unreachable
from bot.teams.proactive import SEND_ERRORS
from handlers.core.i18n import t

log = logging.getLogger("dxdesk.teams")
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"


class SdkRequest:
    """A Starlette request as the SDK's HttpRequestProtocol, with the checked claims."""

    def __init__(self, request: Request, body: Any, claims: ClaimsIdentity) -> None:
        self._request, self._body, self._claims = request, body, claims

    @property
    def method(self) -> str:
        return self._request.method

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._request.headers)

    async def json(self) -> Any:
        return self._body

    def get_claims_identity(self) -> ClaimsIdentity:
        return self._claims

    def get_path_param(self, name: str) -> str:
        return str(self._request.path_params.get(name, ""))


class Adapter(HttpAdapterBase):
    """The SDK's HTTP adapter. Its turn-error handler is the edge of every turn: a turn
    that failed because the database is out of reach answers 「混み合っています」 in its
    conversation, with one log line (bot/runtime/outage.py); any other failure is logged
    with its traceback and a reference number, and the conversation is told that
    something went wrong, with that number (in `language`), never shown a traceback."""

    def __init__(self, language: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)

        async def on_turn_error(context: TurnContext, error: Exception) -> None:
            if unreachable(error):
                log.warning("teams turn answered busy: database unreachable")
                text = t(language, "service.busy")
            else:
                reference = logged(log, "teams turn failed", error=error)
                text = t(language, "error.unexpected", ref=reference)
            try:
                await context.send_activity(text)
            except SEND_ERRORS:
                log.warning("teams answer to a failed turn not sent")

        self.on_turn_error = on_turn_error


class AnonymousClients(RestChannelServiceClientFactory):
    """Anonymous mode (local development): outbound calls, proactive ones included,
    carry no token."""

    async def create_connector_client(
        self,
        context: Any,
        claims_identity: Any,
        service_url: str,
        audience: str,
        scopes: Any = None,
        use_anonymous: bool = False,
    ) -> Any:
        return await super().create_connector_client(
            context, claims_identity, service_url, audience, scopes, use_anonymous=True
        )

    async def create_user_token_client(
        self, context: Any, claims_identity: Any, use_anonymous: bool = False
    ) -> Any:
        return await super().create_user_token_client(context, claims_identity, use_anonymous=True)


def connections(settings: Settings) -> Any:
    """The MSAL connection that gets outbound tokens (None in anonymous mode)."""
    if settings.teams_anonymous:
        return None
    from microsoft_agents.authentication.msal import MsalConnectionManager

    return MsalConnectionManager(connections_configurations={"SERVICE_CONNECTION": auth(settings)})


def auth(settings: Settings) -> AgentAuthConfiguration:
    secret = settings.teams_app_password
    return AgentAuthConfiguration(
        client_id=settings.teams_app_id,
        tenant_id=settings.teams_tenant_id,
        authority=settings.teams_authority,  # None: the public cloud's, per tenant
        client_secret=secret.get_secret_value() if secret else None,
        anonymous_allowed=settings.teams_anonymous,
    )


def issuers(settings: Settings) -> set[str]:
    """Who may issue the tokens the bot accepts: Bot Framework (Teams itself), or Entra
    ID for this tenant."""
    tenant = settings.teams_tenant_id
    if not tenant:
        return {BOT_FRAMEWORK_ISSUER}
    return {
        BOT_FRAMEWORK_ISSUER,
        f"https://sts.windows.net/{tenant}/",
        f"https://login.microsoftonline.com/{tenant}/v2.0",
    }


def same_service(claims: ClaimsIdentity, body: Any) -> bool:
    """Whether the activity's serviceUrl is the one its token names (Bot Framework's
    rule: replies go only where the token says the activity came from)."""
    claimed = str(claims.get_claim_value("serviceurl") or "")
    given = str(body.get("serviceUrl") or "") if isinstance(body, dict) else ""
    return bool(claimed) and claimed.rstrip("/").lower() == given.rstrip("/").lower()


def replay_key(body: Any) -> str | None:
    """What Teams repeats when it delivers an activity again (its id within its
    conversation), for what the person did: a message or a clicked card. None for the
    rest (membership changes, a card refreshing itself on screen): nothing to redo."""
    if not isinstance(body, dict) or body.get("type") not in ("message", "invoke"):
        return None
    value = body.get("value")
    if isinstance(value, dict) and value.get("trigger") == "automatic":
        return None
    conversation = body.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else None
    activity_id = body.get("id")
    if not activity_id or not conversation_id:
        return None
    digest = hashlib.sha256(f"{conversation_id}\n{activity_id}".encode()).hexdigest()
    return f"activity:{digest}"
