"""The Teams app's production auth path end to end over real HTTP.

Inbound: `/api/messages` gets the tokens Teams (the Bot Framework channel service) would
send, RS256 tokens from `https://api.botframework.com`, signed by a key published at a
local stand-in for Bot Framework's JWKS URL; only a genuine one reaches the bot.
Outbound: with app credentials the SDK's MSAL connection gets a client-credentials token
from a local Entra ID authority (TEAMS_AUTHORITY), and every call to the serviceUrl, a
reply as much as a proactive notice, carries it as `Authorization: Bearer …`.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from bot.config import ConfigError, load
from storage import teams as teams_store
from storage.models import AuditEntry
from tests.support.factories import count
from tests.support.teams_app import DM_TANAKA, TANAKA, person_id, queue, references, statuses
from tests.support.teams_auth import (
    APP_ID,
    SECRET,
    TENANT,
)

OUTBOUND_SCOPE = "https://api.botframework.com/.default"


# -- inbound ---------------------------------------------------------------------------


def test_a_bot_framework_token_is_accepted_and_the_reply_carries_the_msal_token(secured, keys, ctx):
    response = secured.say(keys.genuine.sign(secured.claims()))
    assert response.status_code == 202, response.text
    # the SDK took the signing keys from Bot Framework's JWKS URL, as for real tokens
    assert [(h.method, h.path) for h in secured.jwks.hits] == [
        ("GET", "/login.botframework.com/v1/.well-known/keys")
    ]
    # MSAL got a client-credentials token for the Bot Framework scope ...
    [grant] = secured.authority.token_requests
    assert grant.form["grant_type"] == "client_credentials"
    assert (grant.form["client_id"], grant.form["client_secret"]) == (APP_ID, SECRET)
    assert OUTBOUND_SCOPE in grant.form["scope"].split()
    # ... and the reply went to the activity's serviceUrl with it
    reply = secured.connector.wait_for(lambda c: c.method == "POST")
    assert reply.path.startswith(f"/v3/conversations/{DM_TANAKA}/activities/")
    assert reply.authorization == f"Bearer {secured.authority.tokens[0]}"
    tanaka = person_id(ctx, "田中 美咲")
    assert references(ctx)[("personal", str(tanaka))].conversation_id == DM_TANAKA


def expired(claims: dict[str, Any]) -> dict[str, Any]:
    """An hour past `exp`: well beyond the SDK's 300 s leeway."""
    return {**claims, "nbf": claims["nbf"] - 7200, "exp": claims["exp"] - 7200}


FORGERIES = {
    # the genuine key's id in the header, another key's signature
    "signed by another key": lambda k, c: k.impostor.sign(c, kid=k.genuine.kid),
    "signed by an unpublished key": lambda k, c: k.impostor.sign(c),
    "expired": lambda k, c: k.genuine.sign(expired(c)),
    "for another app": lambda k, c: k.genuine.sign({**c, "aud": "another-app-id"}),
    # any other issuer makes the SDK take Entra ID's keys, which do not include BF's
    "from another issuer": lambda k, c: k.genuine.sign({**c, "iss": "https://evil.example"}),
    "unsigned": lambda k, c: jwt.encode(c, None, algorithm="none", headers={"kid": k.genuine.kid}),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_bad_token_is_refused_and_nothing_is_stored(secured, keys, ctx, forgery):
    audits = count(ctx, AuditEntry)
    response = secured.say(FORGERIES[forgery](keys, secured.claims()), text="相談")
    assert response.status_code == 401
    assert secured.connector.calls == []
    assert secured.authority.token_requests == []
    assert references(ctx) == {}
    assert count(ctx, AuditEntry) == audits
    # the same request with a genuine token goes through: the refusal was the token's
    assert secured.say(keys.genuine.sign(secured.claims()), text="相談").status_code == 202
    assert references(ctx) != {}


def test_a_token_for_another_service_url_is_refused(secured, keys, ctx):
    """Bot Framework's rule: the activity's serviceUrl must be the token's, or a valid
    token could send the bot's own outbound token anywhere."""
    for claims in (
        secured.claims(serviceurl="https://smba.trafficmanager.net/jp/"),
        {k: v for k, v in secured.claims().items() if k != "serviceurl"},
    ):
        assert secured.say(keys.genuine.sign(claims)).status_code == 401
    assert secured.connector.calls == []  # the bot's bearer token went nowhere
    assert secured.authority.token_requests == []
    assert references(ctx) == {}


def test_an_entra_token_of_another_tenant_is_refused(secured, servers, ctx):
    """Entra ID signs every tenant's tokens with the same keys: the issuer says whose."""
    entra = servers.entra
    for tenant, status in (("another-tenant", 401), (TENANT, 202)):
        claims = secured.claims(iss=f"https://sts.windows.net/{tenant}/")
        assert secured.say(entra.sign(claims)).status_code == status, tenant


@pytest.mark.parametrize("secured", ["wrong-password"], indirect=True)
def test_a_message_that_cannot_be_answered_is_a_500_without_a_traceback(secured, keys):
    response = secured.say(keys.genuine.sign(secured.claims()))
    assert response.status_code == 500
    assert response.json() == {"error": "Internal error"}
    assert secured.connector.calls == []


# -- outbound --------------------------------------------------------------------------


def known_to_teams(
    ctx, service_url: str, conversation: str | None, user_id: str | None = None
) -> int:
    """田中 美咲, as if she had written to the bot before, with a notice queued for her."""
    tanaka = person_id(ctx, "田中 美咲")
    with ctx.db.transaction() as session:
        teams_store.remember_personal(
            session,
            tanaka,
            service_url=service_url,
            now=ctx.clock.now(),
            conversation_id=conversation,
            user_id=user_id,
            tenant_id=TENANT if user_id else None,
        )
    queue(ctx, tanaka)
    return tanaka


@pytest.mark.parametrize("conversation", [DM_TANAKA, None], ids=["continued", "new chat"])
def test_a_queued_notice_goes_out_with_the_msal_token(secured, ctx, conversation):
    tanaka = known_to_teams(ctx, secured.connector.url, conversation, f"29:{TANAKA}")
    assert secured.bot.deliver() == 1
    [grant] = secured.authority.token_requests
    assert OUTBOUND_SCOPE in grant.form["scope"].split()
    sent = secured.connector.wait_for(lambda c: "/activities" in c.path)
    written_to = references(ctx)[("personal", str(tanaka))].conversation_id  # new: created
    assert sent.path.startswith(f"/v3/conversations/{written_to}/activities")
    bearer = f"Bearer {secured.authority.tokens[0]}"
    assert [c.authorization for c in secured.connector.calls] == [bearer] * (
        2 if conversation is None else 1  # a new chat: created, then written to
    )
    assert statuses(ctx) == {f"reminder.test:1:{tanaka}": "sent"}


@pytest.mark.parametrize("secured", ["wrong-password"], indirect=True)
def test_without_a_token_from_the_authority_nothing_is_sent(secured, ctx):
    tanaka = known_to_teams(ctx, secured.connector.url, DM_TANAKA)
    assert secured.bot.deliver() == 0
    assert len(secured.authority.token_requests) == 1  # refused: invalid_client
    assert secured.authority.tokens == []
    assert secured.connector.calls == []  # never sent without a token
    # a password Entra ID refuses is permanent (#15): failed at once, payload kept for
    # `python -m bot outbox resend`, and the admin told what to fix
    assert statuses(ctx)[f"reminder.test:1:{tanaka}"] == "failed"
    assert [k for k in statuses(ctx) if k.startswith("outbox.failed:teams:")] == [
        "outbox.failed:teams:invalid_app_credentials:2026-07-01:1"
    ]


def test_teams_authority_is_checked_at_start_up(monkeypatch):
    monkeypatch.setenv("TEAMS_AUTHORITY", "http://login.microsoftonline.us/tenant-1")
    with pytest.raises(ConfigError, match="TEAMS_AUTHORITY: expected https://HOST/TENANT"):
        load()
    monkeypatch.setenv("TEAMS_AUTHORITY", "https://login.microsoftonline.us")
    with pytest.raises(ConfigError, match="TEAMS_AUTHORITY"):
        load()
    monkeypatch.setenv("TEAMS_AUTHORITY", " https://login.microsoftonline.us/tenant-1/ ")
    assert load().teams_authority == "https://login.microsoftonline.us/tenant-1"
