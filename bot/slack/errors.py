"""What a call to Slack can raise, for the places that catch it: the SDK's own errors (an
API answer that is not ok, a request it refused to make) and the network's (a refused,
dropped or cut-short connection, a timeout — urllib's errors are OSErrors, a response
cut short an http.client.HTTPException)."""

from __future__ import annotations

from http.client import HTTPException

from slack_sdk.errors import SlackClientError

NETWORK_ERRORS: tuple[type[Exception], ...] = (OSError, HTTPException)
SLACK_ERRORS: tuple[type[Exception], ...] = (SlackClientError, *NETWORK_ERRORS)
