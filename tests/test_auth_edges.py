"""Auth edge cases: malformed Slack signature headers are a 401 (never a 500, never a
traceback in the logs), and a Teams token that never expires is refused like a forged
one."""

from __future__ import annotations

import logging
import time

import pytest

from bot.slack.app import StrictVerifier
from storage.models import Request
from tests.support.factories import count
from tests.support.slack_app import SECRET
from tests.support.slack_fake import signed_headers, slash_command
from tests.support.teams_app import references

MALFORMED = {
    "non-numeric timestamp": {"X-Slack-Request-Timestamp": "yesterday"},
    "float timestamp": {"X-Slack-Request-Timestamp": "1700000000.5"},
    "negative timestamp": {"X-Slack-Request-Timestamp": "-5"},
    "empty timestamp": {"X-Slack-Request-Timestamp": ""},
    "huge timestamp": {"X-Slack-Request-Timestamp": "9" * 400},
    "no timestamp": {"X-Slack-Request-Timestamp": None},
    "no signature": {"X-Slack-Signature": None},
    "empty signature": {"X-Slack-Signature": ""},
    "signature of another scheme": {"X-Slack-Signature": "v1=00"},
    "non-ascii signature": {"X-Slack-Signature": "v0=署名"},
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_slack_headers_are_401_without_a_traceback(slack, ctx, cast, caplog, case):
    body = slash_command("", user_id="U_TANAKA", response_url=f"{slack.fake.base}/response/x")
    headers = signed_headers(SECRET, body)
    for name, value in MALFORMED[case].items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    slack.fake.reset()
    with caplog.at_level(logging.DEBUG):
        response = slack.http.post(
            f"{slack.base}/slack/events",
            content=body.encode(),
            headers={k: v.encode() if not v.isascii() else v for k, v in headers.items()},
        )
    assert response.status_code == 401
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
    time.sleep(0.2)
    assert slack.fake.calls == []
    assert count(ctx, Request) == 0


def test_the_verifier_still_takes_a_genuine_signature():
    body = "a=1"
    now = str(int(time.time()))
    signature = StrictVerifier(SECRET).generate_signature(timestamp=now, body=body)
    assert StrictVerifier(SECRET).is_valid(body, now, signature)
    assert not StrictVerifier(SECRET).is_valid(body, "x" + now, signature)
    assert not StrictVerifier(SECRET).is_valid(body, now, None)


def test_a_teams_token_without_exp_is_refused(secured, keys, ctx):
    claims = {k: v for k, v in secured.claims().items() if k != "exp"}
    response = secured.say(keys.genuine.sign(claims))
    assert response.status_code == 401
    assert secured.connector.calls == []
    assert secured.authority.token_requests == []
    assert references(ctx) == {}
    # the same token with an expiry goes through: `exp` was the only thing missing
    assert secured.say(keys.genuine.sign(secured.claims())).status_code == 202


def test_a_teams_token_with_a_non_numeric_exp_is_refused(secured, keys, ctx):
    response = secured.say(keys.genuine.sign({**secured.claims(), "exp": "never"}))
    assert response.status_code == 401
    assert references(ctx) == {}
