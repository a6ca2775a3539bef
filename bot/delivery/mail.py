"""Invites by e-mail: queued `invite_email` rows sent over SMTP when `SMTP_URL` is set.

Each message is multipart/alternative: a text/plain body in the recipient's language
and a `text/calendar; method=REQUEST|CANCEL` part whose method matches the METHOD inside
the .ics, which is what makes Outlook and Gmail show accept/decline buttons (or remove
the event) instead of an attachment. The invites' ORGANIZER is the service itself, the
From address (`DXDESK_MAIL_FROM`, which `Settings.rules()` makes `Rules.organizer_email`);
it is never mailed (`notices.claim_mail` cancels a row addressed to it). Invites ask for
no reply (RSVP=FALSE): answers come through the notice's buttons. `config.load` refuses to
start with SMTP_URL set and no real From address (`config.deliverable`: not @localhost,
not an example domain, not the default noreply@dxdesk.invalid), in one line, exit 2.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from bot.config import Settings, SmtpServer
from bot.delivery.sending import LEASE_MARGIN
from handlers.core.context import Context
from handlers.core.text_rules import printable, printable_line
from handlers.notifications import notices

log = logging.getLogger("dxdesk.mail")
TIMEOUT_SECONDS = 30


def message(mail: notices.Mail, sender: str) -> EmailMessage:
    # Headers are one line (a line break would be refused or start a new header) and
    # the body printable, whatever old rows hold; the .ics made its own text printable.
    out = EmailMessage()
    out["Subject"] = printable_line(mail.subject)
    out["From"] = formataddr(("DX Desk", sender))
    out["To"] = formataddr((printable_line(mail.to_name), printable_line(mail.to_email)))
    out["Date"] = formatdate(localtime=False)
    out["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    # base64: safe through any relay, 8BITMIME or not; bytes keep the CRLFs iCalendar needs.
    out.set_content(printable(mail.body), subtype="plain", charset="utf-8", cte="base64")
    out.add_alternative(
        mail.ics,
        maintype="text",
        subtype="calendar",
        cte="base64",
        params={"method": mail.method, "charset": "UTF-8"},
    )
    return out


def connect(server: SmtpServer) -> smtplib.SMTP:
    if server.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host,
            server.port,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
        if server.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if server.username:
        client.login(server.username, server.password or "")
    return client


def deliver_mail(ctx: Context, settings: Settings) -> int:
    """Send the due invite e-mails over one SMTP connection; returns how many went.
    A message the server refuses (or a server that cannot be reached) goes back to the
    queue with the outbox's growing delay, and is `failed` after a few attempts."""
    server = settings.smtp
    if server is None:
        return 0
    mails = notices.claim_mail(ctx)
    if not mails:
        return 0
    sent = 0
    client: smtplib.SMTP | None = None
    try:
        client = connect(server)
    except (OSError, smtplib.SMTPException):
        log.exception("SMTP server %s:%s not reachable", server.host, server.port)
    for mail in mails:
        ok = False
        if ctx.clock.now() > mail.lease_until - LEASE_MARGIN:
            break  # a slow server ate the lease: the rest is reaped and sent by another run
        if client is not None:
            try:
                client.send_message(message(mail, settings.mail_from))
                ok = True
            except smtplib.SMTPServerDisconnected:
                log.exception("invite e-mail %s: the server hung up", mail.notification_id)
                client = None
            except (OSError, smtplib.SMTPException):
                log.exception("invite e-mail %s not sent", mail.notification_id)
        notices.finish(ctx, mail.notification_id, sent=ok, lease_until=mail.lease_until)
        sent += ok
    if client is not None:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return sent
