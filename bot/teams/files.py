"""Files on Teams: a bot cannot attach one to a chat message. It offers the file with a
file-consent card; when the reader allows it, Teams opens an upload session in their
OneDrive and tells the bot where; the bot uploads and shows the file with a file card."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from microsoft_agents.activity import Activity, ActivityTypes, Attachment

from handlers.i18n import t
from handlers.reply import File

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
SHAREPOINT_HOSTS = (".sharepoint.com", ".sharepoint.us", ".sharepoint-mil.us", ".sharepoint.cn")


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
    """Whether an upload URL is one Teams hands out: the reader's OneDrive, over https
    (a forged consent answer must not make the bot send a file anywhere else)."""
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
