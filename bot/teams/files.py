"""Files on Teams, both ways, in the person's 1:1 chat with the bot (the only place the
Teams bot APIs carry files).

Out: a bot cannot attach a file to a chat message. It offers the file with a
file-consent card; when the reader allows it, Teams opens an upload session in their
OneDrive and tells the bot where; the bot uploads and shows the file with a file card.

In: Adaptive Cards have no file input, so a log or minutes card tells the consultant to
send the files in this chat after submitting it (`by_chat`). Teams stores a file sent
there in the sender's OneDrive and hands the bot a `file.download.info` attachment with
a short-lived, pre-authorised downloadUrl (`received`): fetched without any token of
the bot's (none is needed, so none can leak), only from SharePoint/OneDrive over https
— redirects included — reading at most the size limit. handlers.fieldwork.logs.attach_files
then checks and attaches them.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

import httpx
from microsoft_agents.activity import Activity, ActivityTypes, Attachment

from handlers.core.i18n import t
from handlers.core.reply import File, Form, Reply, Upload
from handlers.fieldwork.logs import ATTACH_WITHIN

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
DOWNLOAD_TIMEOUT = 30  # seconds per file sent to the bot
log = logging.getLogger("dxdesk.teams")
SHAREPOINT_HOSTS = (".sharepoint.com", ".sharepoint.us", ".sharepoint-mil.us", ".sharepoint.cn")
TRANSFER_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.InvalidURL, ValueError)
"""What a file's download or upload raises: HTTP's errors (a refusal, a timeout, a
dropped connection), a URL that is none, or ValueError — a host that is not OneDrive's,
no upload URL, a size that is not a number."""


def consent(notification_id: int, file: File, language: str) -> Activity:
    """A file-consent card: Teams asks the reader, then tells the bot where to upload."""
    context = {"notification": notification_id}
    return Activity(
        type=ActivityTypes.message,
        attachments=[
            Attachment(
                content_type=CONSENT,
                name=file.name,
                content={
                    "description": t(language, "teams.file.description", name=file.name),
                    "sizeInBytes": len(file.content),
                    "acceptContext": context,
                    "declineContext": context,
                },
            )
        ],
    )


def file_info(upload: dict[str, Any], name: str) -> Attachment:
    """The uploaded file as Teams shows it: a card that opens it from OneDrive."""
    return Attachment(
        content_type=FILE_INFO,
        content_url=str(upload.get("contentUrl") or ""),
        name=str(upload.get("name") or name),
        content={"uniqueId": upload.get("uniqueId"), "fileType": upload.get("fileType")},
    )


def onedrive(url: str) -> bool:
    """Whether an upload or download URL is one Teams hands out: OneDrive/SharePoint,
    over https (a forged consent answer must not make the bot send a file anywhere
    else, nor a forged attachment make it fetch from anywhere else)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and host.endswith(SHAREPOINT_HOSTS)


async def put_file(url: str, content: bytes) -> None:
    """One PUT of the whole file to the upload session Teams opened (files this small
    need no chunks)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("no upload URL")
    size = len(content)
    headers = {"Content-Range": f"bytes 0-{size - 1}/{size}"}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.put(url, content=content, headers=headers)
        response.raise_for_status()


def by_chat(reply: Reply, language: str) -> Reply:
    """The reply as a Teams card shows it: a file field (drawn as its label, see
    cards.py) says how to attach files on Teams instead of what may be attached."""
    hint = t(language, "teams.files_hint", days=ATTACH_WITHIN.days)
    blocks = tuple(
        replace(
            block,
            inputs=tuple(
                replace(i, hint=f"{hint} {i.hint or ''}".strip()) if i.kind == "file" else i
                for i in block.inputs
            ),
        )
        if isinstance(block, Form)
        else block
        for block in reply.blocks
    )
    return replace(reply, blocks=blocks)


def sent_files(activity: Activity) -> list[tuple[str, str]]:
    """(name, downloadUrl) of each file sent with a message; a name without an
    extension takes Teams' fileType (storage.attachments decides by the extension)."""
    found = []
    for attachment in activity.attachments or []:
        content = attachment.content if isinstance(attachment.content, dict) else {}
        if attachment.content_type != DOWNLOAD_INFO:
            continue
        name = str(attachment.name or "file")
        kind = str(content.get("fileType") or "")
        if not PurePath(name).suffix and kind.isalnum():
            name = f"{name}.{kind}"
        found.append((name, str(content.get("downloadUrl") or "")))
    return found


async def received(
    files: list[tuple[str, str]], limit: int, *, any_host: bool = False
) -> list[Upload]:
    """Each file sent to the bot, downloaded (a failed `Upload` when it cannot be:
    not a OneDrive/SharePoint https URL, an error, a timeout). `any_host`: a local
    emulator's files come from anywhere."""
    uploads = []
    async with httpx.AsyncClient(
        timeout=DOWNLOAD_TIMEOUT,
        follow_redirects=True,
        event_hooks={"request": [] if any_host else [_only_onedrive]},
    ) as client:
        for name, url in files:
            try:
                content, size = await _download(client, url, limit)
            except TRANSFER_ERRORS as error:
                # the URL carries its own authorisation: only its host goes in the log
                host = urlsplit(url).hostname
                log.warning("teams file not downloaded from %s: %s", host, type(error).__name__)
                uploads.append(Upload(name, b"", 0, failed=True))
                continue
            uploads.append(Upload(name, content, size))
    return uploads


async def _only_onedrive(request: httpx.Request) -> None:
    if not onedrive(str(request.url)):
        raise ValueError("not a OneDrive/SharePoint https URL")


async def _download(client: httpx.AsyncClient, url: str, limit: int) -> tuple[bytes, int]:
    """The bytes (at most limit + 1) and the size: the declared one when the file is
    larger than what was read."""
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        declared = int(response.headers.get("content-length") or 0)
        if declared > limit:
            return b"", declared
        content = bytearray()
        async for chunk in response.aiter_bytes():
            content += chunk
            if len(content) > limit:
                break
    return bytes(content), max(declared, len(content))
