"""The Teams app's production auth path (the `servers`, `secured` and `keys` fixtures,
loaded by conftest): a local Bot Framework JWKS, Entra ID authority and serviceUrl, started
once per module, and a TeamsBot with app credentials on them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from microsoft_agents.hosting.core.authorization.jwt_token_validator import _JwkClientManager

from bot.config import Settings
from bot.runtime.web import create_web_app
from bot.teams.app import TeamsBot
from storage import people
from tests.support.fake_authority import FakeAuthority, FakeKeys, SigningKey
from tests.support.live_server import serving
from tests.support.teams_app import DM_TANAKA, TANAKA
from tests.support.teams_fake import FakeConnector, message

APP_ID = "3f1e5c2a-7b4d-4e8f-9a60-1c2d3e4f5a6b"


SECRET = "app-password"


TENANT = "tenant-1"


BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"


BOT_FRAMEWORK_KEYS = "https://login.botframework.com/v1/.well-known/keys"


ENTRA_KEYS = f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"


@dataclass
class Keys:
    genuine: SigningKey
    impostor: SigningKey


class LocalJwks(_JwkClientManager):
    """The SDK's JWKS client cache, fetching each https://HOST/PATH it picks from `FakeKeys`."""

    def __init__(self, fake: FakeKeys) -> None:
        super().__init__()
        self.fake = fake

    def _get_jwk_client(self, jwks_uri: str) -> Any:
        return super()._get_jwk_client(self.fake.local(jwks_uri))


class Switch:
    """The ASGI app the module's server runs: each test plugs in its own."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@dataclass
class Servers:
    """Everything on the wire, started once for the module (a test takes milliseconds;
    starting and stopping servers would take most of the time)."""

    base: str
    switch: Switch
    keys: Keys
    jwks: FakeKeys
    authority: FakeAuthority
    connector: FakeConnector
    entra: SigningKey

    def reset(self) -> None:
        for fake in (self.jwks, self.authority, self.connector):
            fake.reset()


@contextmanager
def running(fake: FakeConnector) -> Iterator[FakeConnector]:
    """The serviceUrl stand-in, polled often so that it stops in milliseconds."""
    serve = fake.server.serve_forever
    threading.Thread(target=serve, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield fake
    finally:
        fake.__exit__(None, None, None)


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    keys = Keys(SigningKey.generate("bf-key-1"), SigningKey.generate("attacker-key"))
    entra = SigningKey.generate("entra-key-1")
    switch = Switch()
    with (
        FakeKeys() as jwks,
        FakeAuthority(APP_ID, SECRET) as authority,
        running(FakeConnector()) as connector,
        serving(switch) as base,
    ):
        jwks.publish(BOT_FRAMEWORK_KEYS, keys.genuine)
        jwks.publish(ENTRA_KEYS, entra)  # for tokens from any other issuer
        yield Servers(base, switch, keys, jwks, authority, connector, entra)


@dataclass
class Secured:
    base: str
    bot: TeamsBot
    connector: FakeConnector
    authority: FakeAuthority
    jwks: FakeKeys
    http: httpx.Client

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """What a Bot Framework token for this app says (v1: no `ver`, no `appid`)."""
        now = int(time.time())
        return {
            "iss": BOT_FRAMEWORK_ISSUER,
            "aud": APP_ID,
            "serviceurl": self.connector.url,
            "nbf": now - 60,
            "exp": now + 3600,
            **overrides,
        }

    def say(self, token: str | None, text: str = "ヘルプ") -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = message(self.connector.url, TANAKA, text, DM_TANAKA)
        return self.http.post(f"{self.base}/api/messages", json=body, headers=headers)


@pytest.fixture
def keys(servers: Servers) -> Keys:
    return servers.keys


@pytest.fixture
def secured(ctx, cast, servers, monkeypatch, request) -> Iterator[Secured]:
    """A TeamsBot with production settings (app id, password, tenant) on the servers;
    `indirect` parametrization gives it another app password."""
    with ctx.db.transaction() as session:
        people.link_identity(session, people.find(session, "田中 美咲")[0].id, "teams", TANAKA)
    servers.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", servers.authority.ca_file)  # MSAL's `requests`
    settings = Settings(
        database_url="sqlite:///unused.db",  # the app under test uses `ctx`
        teams_app_id=APP_ID,
        teams_app_password=getattr(request, "param", SECRET),
        teams_tenant_id=TENANT,
        teams_authority=servers.authority.authority,
    )
    bot = TeamsBot(ctx, settings)
    # SDK 0.9.1 has no setting for the JWKS URLs (JwtTokenValidator picks one of two
    # hard-coded URLs by the token's issuer): fetch whichever it picks from `jwks`.
    bot.validator._jwk_client_manager = LocalJwks(servers.jwks)
    servers.switch.app = create_web_app(ctx, None, bot)
    with httpx.Client(timeout=10) as http:
        yield Secured(servers.base, bot, servers.connector, servers.authority, servers.jwks, http)
    servers.switch.app = None
