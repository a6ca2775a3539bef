"""Files a person attached in a modal's file_input, in two steps around the ack.

Slack gives a modal submission 3 seconds for its answer, and five large downloads could
miss that. So inside the ack each file is only described (`describe`): files.info
(scope files:read) gives its name, size and url_private, one call per file, side by side
— enough for the handler to check the count, the size and the extension, and to refuse
next to the field. The bytes are downloaded after the ack, in the worker (`download`),
with the bot token in the Authorization header; the handler checks their type then and
attaches them to what the form filed (handlers.fieldwork.logs.attach_files). A file that cannot
be described becomes a failed `Upload`, refused next to its field; one that cannot be
downloaded afterwards is named in the DM that confirms the filing.
"""

from __future__ import annotations

import logging
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from slack_sdk import WebClient

from bot.slack.errors import NETWORK_ERRORS, SLACK_ERRORS
from handlers.core.reply import Upload

log = logging.getLogger("dxdesk.slack")
TIMEOUT = 20  # seconds per download
SIDE_BY_SIDE = 5  # files.info calls made at once inside the ack
DESCRIBE_TIMEOUT = 2  # seconds per files.info inside the ack


@dataclass(frozen=True)
class SlackUpload(Upload):
    """A described file (`deferred`): `url` is Slack's url_private_download, fetched with
    the bot token after the ack."""

    url: str = ""


def is_files(value: Any) -> bool:
    """What blocks.submitted_values reads from a file_input: a list of file objects."""
    return isinstance(value, list) and all(isinstance(v, dict) and "id" in v for v in value)


def describe(client: WebClient, files: list[dict[str, Any]]) -> list[Upload]:
    """Inside the ack: each file as files.info describes it, no bytes yet."""
    if not files:
        return []
    # No retry handler sleeps out a 429 here, and each call is short: a file Slack cannot
    # describe in time is refused next to its field rather than costing the ack.
    quick = WebClient(
        token=client.token, base_url=client.base_url, timeout=DESCRIBE_TIMEOUT, retry_handlers=[]
    )
    with ThreadPoolExecutor(min(len(files), SIDE_BY_SIDE)) as pool:
        return list(pool.map(lambda f: _describe_one(quick, f), files))


def _describe_one(client: WebClient, file: dict[str, Any]) -> Upload:
    file_id = str(file["id"])
    name = str(file.get("name") or file_id)
    try:
        info = client.files_info(file=file_id)["file"]
        return SlackUpload(
            str(info.get("name") or name),
            b"",
            int(info.get("size") or 0),
            deferred=True,
            url=str(info.get("url_private_download") or info["url_private"]),
        )
    except (*SLACK_ERRORS, KeyError, TypeError, ValueError):  # an answer without a file
        log.exception("could not describe the Slack file %s", file_id)
        return Upload(name, b"", 0, failed=True)


def download(client: WebClient, upload: Upload, limit: int) -> Upload:
    """After the ack: the bytes of a described file (reading stops past `limit`, so a
    file that grew is refused by its size), or a failed `Upload` naming it."""
    if not isinstance(upload, SlackUpload) or not upload.deferred:
        return upload
    try:
        if not _slack_host(client, upload.url):
            raise ValueError(f"not a Slack file URL: {urlparse(upload.url).hostname}")
        request = urllib.request.Request(
            upload.url, headers={"Authorization": f"Bearer {client.token}"}
        )
        opener = urllib.request.build_opener(_SlackRedirectsOnly(client))
        with opener.open(request, timeout=TIMEOUT) as response:
            content = response.read(limit + 1)
        return Upload(upload.name, content, max(upload.size, len(content)))
    except (*NETWORK_ERRORS, ValueError):  # ValueError: not a Slack URL, or no URL at all
        log.exception("could not download the Slack file %s", upload.name)
        return Upload(upload.name, b"", upload.size, failed=True)


def _slack_host(client: WebClient, url: str) -> bool:
    """The bot token is sent only to Slack's own file hosts over https (or to the host of
    the Web API the client talks to: a local stand-in in tests)."""
    parsed, api = urlparse(url), urlparse(client.base_url)
    host = parsed.hostname or ""
    if host == api.hostname and parsed.scheme == api.scheme:
        return True
    return parsed.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))


class _SlackRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """urllib copies the Authorization header onto a redirect: follow only to Slack."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str):  # type: ignore[no-untyped-def]
        if not _slack_host(self.client, newurl):
            raise ValueError(f"a Slack file redirected away: {urlparse(newurl).hostname}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(client: WebClient, files: list[dict[str, Any]], limit: int) -> list[Upload]:
    """Described and downloaded at once (no ack to keep: a script, a test). A file over
    `limit` by files.info is never downloaded: the handler refuses it by that size."""
    return [
        download(client, upload, limit) if upload.size <= limit else upload
        for upload in describe(client, files)
    ]
