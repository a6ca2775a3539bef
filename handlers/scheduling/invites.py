"""Calendar invites (iCalendar, RFC 5545 / iTIP RFC 5546) for booked sessions, and the
outbox rows that carry them to each attendee by chat and by e-mail.

One session keeps one UID for life and every change raises its SEQUENCE, so calendars
replace the event instead of adding a second one. A cancellation is METHOD:CANCEL with
STATUS:CANCELLED and a higher SEQUENCE: a REQUEST merely marked cancelled leaves the
event standing in Google and Outlook calendars.

The ORGANIZER is the service itself ("DX Desk", `Rules.organizer_email`, the address
invite e-mails come from), so everyone concerned is an attendee and hears of every
change: the consultants, the requester, the municipalities' staff and whoever booked it
(a requester who picks a slot books it). That address itself is never an attendee and
is never mailed.

One action that touches many sessions (a season plan confirmed, a request with several
sessions cancelled) runs inside `batched`: each person then gets ONE notice listing their
sessions, carrying ONE .ics with a VEVENT per session (each with its own UID and
SEQUENCE, exactly as its single invite would say) and an offer to subscribe to their
private feed instead — not one message per session. A batched row keeps each session's
single payload under `sessions`; `entries_of` reads either shape.

Invites ask for no reply (RSVP=FALSE): nobody reads the organizer's mailbox, so a decline
sent from a calendar would be lost. Each session notice carries 出席できません /
日程変更を相談 buttons instead (handlers/scheduling/attendance.py).

An invite says what was true when it was queued: `queue_invites` words the invite's
content (`InviteData`, without the organizer) into each row when the session is booked,
moved or cancelled, and `invite_file` builds the .ics from that snapshot whenever the row
is sent, with DTSTAMP the time it was queued, so a late or retried send carries the same
bytes and never a later time or status. `build_invite` is pure (plain data in, bytes
out); `session_data` gathers that data from storage; `queue_invites` is called by
whatever books, moves or cancels a session, in the same transaction, after it has bumped
`sequence` (and set the status).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from icalendar import Calendar, Event, Timezone, vCalAddress
from sqlmodel import Session

from handlers.core import payloads
from handlers.core.clock import TOKYO
from handlers.core.i18n import LANGUAGES, format_when, join, t
from handlers.core.reply import File
from handlers.core.text_rules import printable, printable_line
from handlers.people import preferences
from storage import outbox, people, request_store, sessions
from storage.models import Mode, Person, Request, Role, SessionKind, SessionStatus, SupportSession

Method = Literal["REQUEST", "CANCEL"]
CHAT_KIND = "invite"
EMAIL_KIND = "invite_email"
PRODID = "-//DX Desk//Kumamoto DX Desk//JA"
ORGANIZER_NAME = "DX Desk"
REQUIRED, OPTIONAL = "REQ-PARTICIPANT", "OPT-PARTICIPANT"


@dataclass(frozen=True)
class Party:
    """An organizer or attendee as the invite names them."""

    name: str
    email: str
    role: str = REQUIRED


@dataclass(frozen=True)
class InviteData:
    """Everything an invite says about one session, already worded in one language."""

    uid: str
    sequence: int
    status: Literal["CONFIRMED", "CANCELLED"]
    kind: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    description: str
    location: str | None = None
    meeting_url: str | None = None
    organizer: Party | None = None
    attendees: tuple[Party, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        """As JSON for an outbox row (the organizer is the service's, added when sent)."""
        return {
            "uid": self.uid,
            "sequence": self.sequence,
            "status": self.status,
            "kind": self.kind,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "summary": self.summary,
            "description": self.description,
            "location": self.location,
            "meeting_url": self.meeting_url,
            "attendees": [[p.name, p.email, p.role] for p in self.attendees],
        }

    @classmethod
    def from_payload(cls, values: dict[str, Any]) -> InviteData:
        return cls(
            uid=values["uid"],
            sequence=int(values["sequence"]),
            status="CANCELLED" if values["status"] == "CANCELLED" else "CONFIRMED",
            kind=values["kind"],
            starts_at=datetime.fromisoformat(values["starts_at"]),
            ends_at=datetime.fromisoformat(values["ends_at"]),
            summary=values["summary"],
            description=values["description"],
            location=values.get("location"),
            meeting_url=values.get("meeting_url"),
            attendees=tuple(Party(name, email, role) for name, email, role in values["attendees"]),
        )


# -- the pure builder -------------------------------------------------------------------


def new_calendar(method: Method | None = None, *, name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", printable(name))
        calendar.add("x-wr-timezone", "Asia/Tokyo")
    return calendar


def to_bytes(calendar: Calendar) -> bytes:
    """The calendar with the VTIMEZONE of Asia/Tokyo, the only TZID its events use.
    Deriving a VTIMEZONE walks the zone's history (tens of milliseconds), so it is built
    once per process and shared."""
    calendar.add_component(tokyo_timezone())
    return calendar.to_ical()


@cache
def tokyo_timezone() -> Timezone:
    return Timezone.from_tzinfo(TOKYO)


def session_event(data: InviteData, now: datetime, *, cancelled: bool = False) -> Event:
    event = Event()
    event.add("uid", data.uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", data.starts_at.astimezone(TOKYO))
    event.add("dtend", data.ends_at.astimezone(TOKYO))
    event.add("sequence", data.sequence)
    event.add("status", "CANCELLED" if cancelled else data.status)
    # icalendar escapes TEXT values (, ; \\ and line breaks) and parameters (RFC 6868
    # carets) itself, but passes control characters through, fails on a lone surrogate
    # and refuses CR/LF in a URI: stored text (old rows too) is made printable first.
    event.add("summary", printable(data.summary))
    event.add("description", printable(data.description))
    event.add("transp", "OPAQUE")
    if data.location:
        event.add("location", printable(data.location))
    if data.meeting_url:
        event.add("url", printable_line(data.meeting_url))
    if data.organizer is not None:
        event.add("organizer", _address(data.organizer))
    for party in data.attendees:
        address = _address(party)
        address.params["role"] = party.role
        address.params["partstat"] = "NEEDS-ACTION"
        # no reply is read (the organizer's mailbox is nobody's): answers come through
        # the notice's buttons, so calendars are told not to offer one
        address.params["rsvp"] = "FALSE"
        event.add("attendee", address)
    return event


def _address(party: Party) -> vCalAddress:
    address = vCalAddress(f"mailto:{printable_line(party.email)}")
    address.params["cn"] = printable_line(party.name)
    return address


def build_invite(data: InviteData, method: Method, now: datetime) -> bytes:
    """An iTIP message: METHOD:REQUEST (booked or changed) or METHOD:CANCEL, which is
    always STATUS:CANCELLED whatever `data.status` says."""
    calendar = new_calendar(method)
    calendar.add_component(session_event(data, now, cancelled=method == "CANCEL"))
    return to_bytes(calendar)


# -- from storage -----------------------------------------------------------------------


def attendees_of(db_session: Session, row: SupportSession) -> list[tuple[Person, str]]:
    """[(person, role)]: the consultants and the requester are required; the other staff
    of the session's municipalities and whoever booked it (when they are none of these)
    optional. Only active people; each once."""
    session_id = row.id or 0
    wanted: list[tuple[int, str]] = [
        (pid, REQUIRED) for pid in sessions.consultant_ids(db_session, session_id)
    ]
    request = request_of(db_session, row)
    if request is not None and request.requester_id is not None:
        wanted.append((request.requester_id, REQUIRED))
    municipality_ids = set(sessions.municipality_ids(db_session, session_id))
    if municipality_ids:
        wanted.extend(
            (person.id or 0, OPTIONAL)
            for person in people.listing(db_session, Role.MUNICIPAL)
            if person.municipality_id in municipality_ids
        )
    wanted.append((row.created_by_id, OPTIONAL))
    out: list[tuple[Person, str]] = []
    seen: set[int] = set()
    for person_id, role in wanted:
        if person_id in seen:
            continue
        seen.add(person_id)
        person = people.get(db_session, person_id)
        if person is not None and person.active:
            out.append((person, role))
    return out


def request_of(db_session: Session, row: SupportSession) -> Request | None:
    return request_store.get(db_session, row.request_id) if row.request_id is not None else None


def municipality_names(db_session: Session, row: SupportSession) -> list[str]:
    names = people.municipality_names(db_session)
    return [names.get(m, "?") for m in sessions.municipality_ids(db_session, row.id or 0)]


def where_of(db_session: Session, row: SupportSession, language: str) -> str:
    """The municipalities a session is for, or else its place or meeting link. The
    results meeting invites every municipality: its link says more than 45 names.

    Never empty: every notice puts this in brackets after the time, and a results
    meeting booked before its link is known (a confirmed season plan) read 「14:00()」;
    such a session is named by who it is for, or by its mode."""
    if row.kind == SessionKind.RESULTS_MEETING:
        return row.meeting_url or row.place or t(language, "where.all_municipalities")
    return (
        join(language, municipality_names(db_session, row))
        or row.place
        or row.meeting_url
        or t(language, f"choice.mode.{row.mode}")
    )


def session_data(
    db_session: Session,
    row: SupportSession,
    language: str,
    *,
    with_people: bool = True,
    sequence: int | None = None,
    attendees: list[tuple[Person, str]] | None = None,
) -> InviteData:
    """The invite's content for one session in `language`, as stored now, without the
    organizer (the service's, added by `addressed`). Feeds leave out the attendees too
    (`with_people=False`): a subscribed calendar is not a meeting. A caller that has
    read `attendees_of(row)` already passes it as `attendees`."""
    lang = language
    session_id = row.id or 0
    kind = t(lang, f"choice.session_kind.{row.kind}")
    municipalities = municipality_names(db_session, row)
    where = join(lang, municipalities) or row.place or ""
    cancelled = row.status == SessionStatus.CANCELLED
    starts_at, ends_at = row.starts_at.astimezone(TOKYO), row.ends_at.astimezone(TOKYO)

    def line(label: str, value: str) -> str:
        return t(lang, "invite.line", label=label, value=value)

    lines = [t(lang, "invite.description.cancelled")] if cancelled else []
    lines.append(t(lang, "invite.description.intro", kind=kind))
    lines.append(
        line(
            t(lang, "invite.when"),
            t(
                lang,
                "invite.time_range",
                start=format_when(lang, starts_at),
                end=f"{ends_at:%H:%M}",
            ),
        )
    )
    if municipalities:
        lines.append(line(t(lang, "field.municipalities"), join(lang, municipalities)))
    if row.place:
        lines.append(line(t(lang, "field.place"), row.place))
    if row.meeting_url:
        lines.append(line(t(lang, "field.meeting_url"), row.meeting_url))
    consultants = people.names(db_session, sessions.consultant_ids(db_session, session_id))
    if consultants:
        lines.append(line(t(lang, "field.consultants"), join(lang, consultants.values())))
    if (request := request_of(db_session, row)) is not None:
        lines.append(line(t(lang, "field.request_number"), request.number))
    lines.extend(("", t(lang, "invite.description.footer")))

    parties: tuple[Party, ...] = ()
    if with_people:
        if attendees is None:
            attendees = attendees_of(db_session, row)
        parties = tuple(Party(p.name, p.email, role) for p, role in attendees if p.email)
    summary = (
        t(lang, "invite.summary", kind=kind, where=where)
        if where and row.kind != SessionKind.RESULTS_MEETING
        else t(lang, "invite.summary_plain", kind=kind)
    )
    return InviteData(
        uid=row.uid,
        sequence=row.sequence if sequence is None else sequence,
        status="CANCELLED" if cancelled else "CONFIRMED",
        kind=row.kind,
        starts_at=starts_at,
        ends_at=ends_at,
        summary=summary,
        description="\n".join(lines),
        location=row.place if row.mode == Mode.VISIT else row.meeting_url,
        meeting_url=row.meeting_url if row.mode == Mode.ONLINE else None,
        attendees=parties,
    )


def addressed(data: InviteData, organizer_email: str) -> InviteData:
    """The invite from the service: ORGANIZER "DX Desk" at `organizer_email`, which is
    then no attendee."""
    own = organizer_email.casefold()
    return replace(
        data,
        organizer=Party(ORGANIZER_NAME, organizer_email),
        attendees=tuple(p for p in data.attendees if p.email.casefold() != own),
    )


def is_organizer(email: str | None, organizer_email: str) -> bool:
    return email is not None and email.casefold() == organizer_email.casefold()


# -- the outbox -------------------------------------------------------------------------


def variant(method: Method, sequence: int) -> Literal["request", "update", "cancel"]:
    if method == "CANCEL":
        return "cancel"
    return "update" if sequence > 0 else "request"


NOTICES = {
    "request": "invite.notice.request",
    "update": "invite.notice.update",
    "cancel": "invite.notice.cancel",
}
SUBJECTS = {
    "request": "mail.subject.request",
    "update": "mail.subject.update",
    "cancel": "mail.subject.cancel",
}


def queue_invites(
    db_session: Session, support_session: SupportSession, method: Method, now: datetime
) -> None:
    """Queue this session's invite for every attendee: a chat notice carrying the .ics
    and, for those with an e-mail address, an e-mail. Keys name the session, SEQUENCE,
    method, person and channel, so queueing twice queues once. Inside `batched` the
    notices are gathered instead, and each person gets one for the whole action.

    Each row carries the invite's content as it is now (`invite`: `InviteData` by
    language, worded in the recipient's language, or in every language while they have
    none and the deployment's decides) and `stamp`, the DTSTAMP: what is sent later says
    what was true when queued. Worded data rather than the .ics itself: `build_invite`
    is pure, so the data fixes the bytes (every send and retry of a row, and every row of
    one version in one language, carry the same .ics) while staying readable JSON in the
    outbox, smaller than the .ics, and free of the builder's iCalendar syntax."""
    session_id = support_session.id or 0
    sequence = support_session.sequence
    attendees = attendees_of(db_session, support_session)
    worded: dict[str, dict[str, Any]] = {}
    wheres: dict[str, str] = {}

    def snapshot(languages: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        for lang in languages:
            if lang not in worded:
                data = session_data(db_session, support_session, lang, attendees=attendees)
                worded[lang] = data.to_payload()
        return {lang: worded[lang] for lang in languages}

    gathering: Batch | None = db_session.info.get(BATCH)
    for person, _role in attendees:
        language = person.language or "ja"
        if language not in wheres:
            wheres[language] = where_of(db_session, support_session, language)
        payload: dict[str, Any] = {
            "message": NOTICES[variant(method, sequence)],
            "params": {
                "kind": support_session.kind,
                "when": support_session.starts_at.isoformat(),
                "where": wheres[language],
            },
            "action": None,
            "ref": None,
            "buttons": answer_buttons(session_id) if method == "REQUEST" else None,
            "session_id": session_id,
            "sequence": sequence,
            "method": method,
            "stamp": now.isoformat(),
            "invite": snapshot(languages_of(person)),
        }
        if gathering is not None:
            gathering.add(person, payload)
        else:
            _enqueue(
                db_session,
                person,
                f"invite:{session_id}:{sequence}:{method}:{person.id}",
                payload,
                now,
            )


def answer_buttons(session_id: int) -> list[list[str]]:
    """出席できません / 日程変更を相談 on a session's notice (handlers/scheduling/attendance.py),
    as `notify`'s [action, label key, value] triples."""
    ref = payloads.encode(id=session_id)
    return [
        ["attendance.decline", "button.attendance.decline", ref],
        ["attendance.change", "button.attendance.change", ref],
    ]


def _enqueue(
    db_session: Session, person: Person, key: str, payload: dict[str, Any], now: datetime
) -> None:
    """The chat notice and the e-mail, as the person chose (preferences.invite_channels:
    e-mail only for someone with an address, none when they follow their feed only):
    `key` + channel."""
    kinds = {"chat": CHAT_KIND, "email": EMAIL_KIND}
    for kind, channel in ((kinds[c], c) for c in preferences.invite_channels(person)):
        outbox.enqueue(
            db_session,
            key=f"{key}:{channel}",
            kind=kind,
            person_id=person.id or 0,
            payload=payload,
            due_at=now,
            now=now,
        )


# -- one notice per person for an action that touches many sessions ----------------------

BATCH = "invites.batch"  # the key of the gathering `Batch` in a transaction's `info`
SHOWN = 15
"""Sessions a batched notice lists in its text; the rest are counted (「ほか N 件」) and
are all in its .ics."""


@dataclass
class Batch:
    """The invites one action queued, gathered per person (in order of first notice) and
    per session (a session queued twice in one action keeps its latest invite)."""

    key: str
    people: dict[int, Person] = field(default_factory=dict)
    notices: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def add(self, person: Person, payload: dict[str, Any]) -> None:
        person_id = person.id or 0
        self.people[person_id] = person
        self.notices.setdefault(person_id, {})[int(payload["session_id"])] = payload

    def told(self) -> set[int]:
        """Who hears of the action through these invites (not who follows the feed only):
        a caller's own notice about the same action leaves them out (one notice each)."""
        return {pid for pid, person in self.people.items() if preferences.invite_channels(person)}


@contextmanager
def batched(db_session: Session, key: str, now: datetime) -> Iterator[Batch]:
    """Gather every invite queued inside (in this transaction) and, on leaving without
    an error, queue one notice per person and method for the whole action: a person with
    a single session gets that session's ordinary invite. `key` names the action once
    (e.g. "plan.confirm:12"); rows are keyed by it, so a retried action queues nothing
    more. Nested inside another batch, the outer one gathers (and is the one yielded)."""
    if BATCH in db_session.info:
        yield db_session.info[BATCH]
        return
    batch = Batch(key)
    db_session.info[BATCH] = batch
    try:
        yield batch
    finally:
        del db_session.info[BATCH]
    for person_id, by_session in batch.notices.items():
        _queue_gathered(db_session, batch, batch.people[person_id], list(by_session.values()), now)


def _queue_gathered(
    db_session: Session,
    batch: Batch,
    person: Person,
    entries: list[dict[str, Any]],
    now: datetime,
) -> None:
    if len(entries) == 1:
        (entry,) = entries
        key = f"invite:{entry['session_id']}:{entry['sequence']}:{entry['method']}:{person.id}"
        _enqueue(db_session, person, key, entry, now)
        return
    by_method: dict[str, list[dict[str, Any]]] = {}
    for entry in sorted(entries, key=lambda e: datetime.fromisoformat(e["params"]["when"])):
        by_method.setdefault(entry["method"], []).append(entry)
    for method, group in by_method.items():  # one .ics has one METHOD (RFC 5546)
        payload = {
            "message": f"invite.notice.batch.{batch_variant(method, group)}",
            "params": {"count": len(group)},
            "method": method,
            "stamp": now.isoformat(),
            "sessions": [_bare(entry) for entry in group],
            "action": None,
            "ref": None,
            "buttons": [
                ["calendar.feed", "button.subscribe_feed", ""],
                *(
                    [["attendance.list", "button.attendance.list", ""]]
                    if method == "REQUEST"
                    else []
                ),
            ],
        }
        _enqueue(db_session, person, f"invites:{batch.key}:{method}:{person.id}", payload, now)


def _bare(entry: dict[str, Any]) -> dict[str, Any]:
    """A session's single invite as an entry of a batched one (its buttons are the
    batch's, not its own)."""
    return {k: v for k, v in entry.items() if k not in ("buttons", "action", "ref")}


def batch_variant(method: str, group: list[dict[str, Any]]) -> str:
    if method == "CANCEL":
        return "cancel"
    return "update" if any(int(e["sequence"]) > 0 for e in group) else "request"


def entries_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The sessions an invite row is about, each as its single invite's payload (with
    session_id, sequence, method, stamp and the worded `invite`): a batched row's
    `sessions`, or the row itself."""
    return list(payload["sessions"]) if "sessions" in payload else [payload]


def subject_key(payload: dict[str, Any]) -> str:
    """The catalog key of an invite e-mail's subject."""
    if "sessions" in payload:
        return f"mail.subject.batch.{batch_variant(payload['method'], payload['sessions'])}"
    return SUBJECTS[variant(payload["method"], int(payload["sequence"]))]


def languages_of(person: Person) -> tuple[str, ...]:
    """The languages a person's invite is worded in: theirs, or every one while they have
    none (the deployment's, known when it is sent, decides)."""
    if person.language and person.language in LANGUAGES:
        return (person.language,)
    return LANGUAGES


def file_name(payload: dict[str, Any]) -> str:
    """`dxdesk-<session>-<sequence>.ics`, or for a batch its session count and a digest
    of which sessions at which SEQUENCE (the same batch, the same name)."""
    suffix = "-cancel" if payload.get("method") == "CANCEL" else ""
    if "sessions" in payload:
        which = ",".join(f"{e['session_id']}.{e['sequence']}" for e in payload["sessions"])
        digest = hashlib.sha256(which.encode()).hexdigest()[:10]
        return f"dxdesk-{len(payload['sessions'])}-sessions-{digest}{suffix}.ics"
    return f"dxdesk-{payload['session_id']}-{payload['sequence']}{suffix}.ics"


def snapshot_of(
    db_session: Session, payload: dict[str, Any], language: str, now: datetime
) -> tuple[InviteData, datetime]:
    """(content, DTSTAMP) of an invite row: as queued, in `language` if it was worded in
    it (else in the language it was). A row queued before rows carried their content
    falls back to the session as stored now, with the SEQUENCE it was queued with."""
    worded = payload.get("invite")
    if worded:
        values = worded.get(language) or next(iter(worded.values()))
        return InviteData.from_payload(values), datetime.fromisoformat(payload["stamp"])
    row = sessions.get(db_session, int(payload["session_id"]))
    if row is None:
        raise LookupError(f"no session {payload['session_id']}")
    return session_data(db_session, row, language, sequence=int(payload["sequence"])), now


def invite_file(
    db_session: Session,
    payload: dict[str, Any],
    language: str,
    now: datetime,
    organizer_email: str,
) -> File:
    """The .ics an invite row carries, as a reply block: built from the row's snapshot
    (one VEVENT per session of a batched row), from the service at `organizer_email`.
    For a single session these are `build_invite`'s bytes."""
    method: Method = "CANCEL" if payload.get("method") == "CANCEL" else "REQUEST"
    calendar = new_calendar(method)
    for entry in entries_of(payload):
        data, stamp = snapshot_of(db_session, entry, language, now)
        event = session_event(addressed(data, organizer_email), stamp, cancelled=method == "CANCEL")
        calendar.add_component(event)
    content = to_bytes(calendar)
    return File(file_name(payload), content, f"text/calendar; method={method}; charset=UTF-8")
