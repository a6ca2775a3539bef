"""R13: the case book — anonymised consultation cases and public advanced practices of
other local governments, searchable from the chat app.

Anonymisation (decided here, once):
- Cases come from consultations with a filed log and from BPR engagements. Their free
  text (description, log summary and response, issues, goal) keeps its substance but
  every personal name known to the database is replaced by 「担当者」: each person's
  name, each requester and each municipal attendee typed into a log — the full name,
  the name without its space and each part of two characters or more. Titles (職名)
  known to the database become 「職員」. E-mail addresses and phone numbers are removed.
- A case names no person, no title and no municipality: the municipality becomes its
  kind (県内の市/町/村), because a municipality plus a department and a title often
  points at one official. The department stays: it tells the reader whose work it was.

Search ranking (explainable, no dependencies): Japanese has no spaces, so text is cut
into overlapping character bigrams after NFKC normalisation and lower-casing (ASCII
words such as "RPA" stay whole). An entry scores the sum, over the distinct query
bigrams it contains, of idf = ln(1 + N / df) (N entries, df entries containing the
bigram); a bigram in the entry's title or topic counts double. Ties go to the public
practices first, then the newest case. The best few are returned with their link.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlmodel import Session

import templates
from handlers.clock import TOKYO
from handlers.document import Block, Document, Heading, KeyValues, PageBreak, Paragraph, Table
from handlers.era import era_date, era_month
from handlers.i18n import t
from handlers.report_data import LogData, Names, Period, gather_logs
from storage import engagements, people, report_rows
from storage.models import Municipality, StepStatus

PRACTICES_FILE = templates.DIR / "casebook" / "practices.json"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\d{2,4}-\d{2,4}-\d{3,4}")
ASCII_WORD = re.compile(r"[a-z0-9]+")
SEPARATORS = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class Case:
    ref: str  # C12 (a consultation) or B3 (a BPR engagement): no request number
    topic: str  # a topic key (choice.topic.*)
    place: str  # 県内の町
    department: str
    when: datetime
    question: str
    response: str
    issues: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Practice:
    ref: str
    topic: str
    title: str
    organisation: str
    summary: str
    url: str
    source: str


@dataclass(frozen=True)
class Practices:
    retrieved: str
    note: str
    items: tuple[Practice, ...]


@dataclass(frozen=True)
class Hit:
    ref: str
    title: str
    text: str
    link: str
    score: float
    practice: bool


class Redactor:
    """Replaces every personal name and title the database knows of in free text."""

    def __init__(
        self,
        names: set[str],
        titles: set[str],
        places: dict[str, str],
        words: tuple[str, str, str],
    ) -> None:
        self.someone, self.staff, self.removed = words
        self.places = sorted(places.items(), key=lambda item: len(item[0]), reverse=True)
        self.names = sorted(_variants(names) - set(places), key=len, reverse=True)
        self.titles = sorted(_variants(titles) - set(self.names), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = EMAIL.sub(self.removed, text or "")
        text = PHONE.sub(self.removed, text)
        for place, general in self.places:
            text = text.replace(place, general)
        for name in self.names:
            text = text.replace(name, self.someone)
        for title in self.titles:
            text = text.replace(title, self.staff)
        return text


def _variants(values: set[str]) -> set[str]:
    """A name as typed, without its spaces, and each part of two characters or more."""
    found: set[str] = set()
    for value in values:
        value = (value or "").strip()
        if len(value) < 2:
            continue
        found.add(value)
        found.add(re.sub(r"\s+", "", value))
        found |= {part for part in re.split(r"\s+", value) if len(part) >= 2}
    return found


def redactor(session: Session, language: str) -> Redactor:
    names: set[str] = set()
    titles: set[str] = set()
    for person in report_rows.everyone(session).values():
        names.add(person.name)
        titles.add(person.title or "")
    for name, title in [
        *report_rows.request_people(session),
        *report_rows.attendee_people(session),
    ]:
        names.add(name)
        titles.add(title)
    places = {m.name: _place(language, m) for m in people.municipalities(session)}
    words = (
        t(language, "casebook.someone"),
        t(language, "casebook.staff"),
        t(language, "casebook.removed"),
    )
    return Redactor(names, titles, places, words)


def _place(language: str, municipality: Municipality | None) -> str:
    return t(language, "casebook.place", kind=municipality.kind if municipality else "-")


def gather_cases(session: Session, language: str) -> list[Case]:
    """Every consultation with a filed log, and every BPR engagement, anonymised."""
    redact = redactor(session, language)
    by_id = {m.id: m for m in people.municipalities(session)}
    names = Names(session)
    logs = gather_logs(session, Period(), names=names)
    by_request: dict[int, list[LogData]] = {}
    session_requests = {
        s.id: s.request_id
        for s in report_rows.sessions_by_id(
            session, [r.id for log in logs for r in log.sessions]
        ).values()
    }
    for log in logs:
        for row in log.sessions:
            request_id = session_requests.get(row.id)
            if request_id:
                by_request.setdefault(request_id, []).append(log)
    cases: list[Case] = []
    for request in report_rows.consultation_requests(session):
        found = list({log.id: log for log in by_request.get(request.id or 0, [])}.values())
        if not found:
            continue
        cases.append(
            Case(
                ref=f"C{request.id}",
                topic=request.topic,
                place=_place(language, by_id.get(request.municipality_id)),
                department=request.department,
                when=found[0].sessions[0].starts_at if found[0].sessions else found[0].filed_at,
                question=redact(request.description),
                response=redact("\n".join(f"{log.summary}\n{log.response}" for log in found)),
                issues=tuple(
                    dict.fromkeys(
                        (redact(i.content), redact(i.policy)) for log in found for i in log.issues
                    )
                ),
            )
        )
    engagement_logs: dict[str, list[LogData]] = {}
    for log in logs:
        if any(r.kind == "bpr" for r in log.sessions):
            for place in log.municipalities:
                engagement_logs.setdefault(place, []).append(log)
    for engagement in engagements.listing(session):
        place = names.place(engagement.municipality_id)
        found = engagement_logs.get(place, [])
        steps = engagements.steps(session, engagement.id or 0)
        done = [s for s in steps if s.status == StepStatus.DONE]
        if not found and not done:
            continue
        cases.append(
            Case(
                ref=f"B{engagement.id}",
                topic="bpr",
                place=_place(language, by_id.get(engagement.municipality_id)),
                department=engagement.department,
                when=engagement.created_at,
                question=redact(engagement.goal or t(language, "casebook.no_goal")),
                response=redact("\n".join(dict.fromkeys(log.response for log in found))),
                issues=tuple(
                    dict.fromkeys(
                        (redact(i.content), redact(i.policy)) for log in found for i in log.issues
                    )
                ),
            )
        )
    return cases


@cache
def load_practices() -> Practices:
    """The curated starter set shipped with the product (templates/casebook)."""
    data = json.loads(PRACTICES_FILE.read_text(encoding="utf-8"))
    return Practices(
        retrieved=data["retrieved"],
        note=data["note"],
        items=tuple(
            Practice(
                ref=item["id"],
                topic=item["topic"],
                title=item["title"],
                organisation=item["organisation"],
                summary=item["summary"],
                url=item["url"],
                source=item["source"],
            )
            for item in data["practices"]
        ),
    )


# -- search ------------------------------------------------------------------------
def tokens(text: str) -> Counter[str]:
    """Character bigrams of each run of text (single characters for one-letter runs);
    ASCII words whole, so "RPA" matches "RPA" and not "PA"."""
    normal = unicodedata.normalize("NFKC", text or "").lower()
    found: Counter[str] = Counter(ASCII_WORD.findall(normal))
    for run in SEPARATORS.split(ASCII_WORD.sub(" ", normal)):
        if len(run) == 1:
            found[run] += 1
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


@dataclass(frozen=True)
class Entry:
    hit: Hit
    head: frozenset[str]
    body: frozenset[str]
    order: float  # the tie-breaker: practices first, then the newest case


def case_entry(language: str, case: Case) -> Entry:
    topic = t(language, f"choice.topic.{case.topic}")
    title = t(
        language, "casebook.case_title", ref=case.ref, topic=topic, department=case.department
    )
    body = "\n".join(
        [case.place, case.question, case.response, *(" ".join(i) for i in case.issues)]
    )
    return Entry(
        Hit(case.ref, title, _snippet(case.question), "", 0.0, False),
        frozenset(tokens(f"{title} {topic}")),
        frozenset(tokens(body)),
        case.when.timestamp(),
    )


def practice_entry(language: str, practice: Practice) -> Entry:
    topic = t(language, f"choice.topic.{practice.topic}")
    title = f"{practice.organisation} {practice.title}"
    return Entry(
        Hit(practice.ref, title, _snippet(practice.summary), practice.url, 0.0, True),
        frozenset(tokens(f"{title} {topic}")),
        frozenset(tokens(practice.summary)),
        math.inf,
    )


def _snippet(text: str, limit: int = 80) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def rank(entries: list[Entry], query: str, limit: int = 5) -> list[Hit]:
    """The best `limit` entries for `query` (see the module docstring for the score)."""
    wanted = set(tokens(query))
    if not wanted or not entries:
        return []
    df = Counter(b for e in entries for b in (e.head | e.body) & wanted)
    n = len(entries)
    scored = []
    for entry in entries:
        score = 0.0
        for bigram in wanted:
            if bigram in entry.head or bigram in entry.body:
                weight = math.log(1 + n / df[bigram])
                score += weight * (2 if bigram in entry.head else 1)
        if score > 0:
            scored.append((score, entry.order, entry))
    scored.sort(key=lambda item: (-item[0], -item[1]))
    return [
        Hit(e.hit.ref, e.hit.title, e.hit.text, e.hit.link, round(score, 3), e.hit.practice)
        for score, _, e in scored[:limit]
    ]


def search(session: Session, language: str, query: str, limit: int = 5) -> list[Hit]:
    entries = [case_entry(language, c) for c in gather_cases(session, language)]
    entries += [practice_entry(language, p) for p in load_practices().items]
    return rank(entries, query, limit)


# -- the document ------------------------------------------------------------------
def casebook_document(language: str, cases: list[Case], now: datetime) -> Document:
    """相談事例集: the anonymised cases grouped by topic, then the public practices."""
    lang = language
    blocks: list[Block] = [Paragraph(t(lang, "casebook.intro"), "note")]
    topics = sorted({c.topic for c in cases}, key=lambda k: (k == "other", k))
    for topic in topics:
        blocks.append(Heading(t(lang, f"choice.topic.{topic}"), 2))
        for case in (c for c in cases if c.topic == topic):
            blocks += [
                Heading(t(lang, "casebook.case_heading", ref=case.ref), 3),
                KeyValues(
                    (
                        (t(lang, "doc.field.region"), case.place),
                        (t(lang, "doc.field.department"), case.department),
                        (t(lang, "doc.field.month"), case_month(lang, case)),
                        (t(lang, "doc.field.question"), case.question),
                        (t(lang, "doc.field.response"), case.response or t(lang, "doc.none")),
                        (
                            t(lang, "doc.field.issues"),
                            "\n".join(f"{c} / {p}" for c, p in case.issues) or t(lang, "doc.none"),
                        ),
                    )
                ),
            ]
    if not cases:
        blocks.append(Paragraph(t(lang, "casebook.no_cases"), "empty"))
    practices = load_practices()
    blocks += [
        PageBreak(),
        Heading(t(lang, "casebook.practices"), 2),
        Paragraph(t(lang, "casebook.practices_note", retrieved=practices.retrieved), "note"),
        Paragraph(practices.note, "note"),
        Table(
            (
                t(lang, "doc.field.organisation"),
                t(lang, "doc.field.practice"),
                t(lang, "doc.field.summary"),
                t(lang, "doc.field.source"),
            ),
            tuple(
                (p.organisation, p.title, p.summary, f"{p.source}\n{p.url}")
                for p in practices.items
            ),
        ),
    ]
    return Document(
        language=lang,
        title=t(lang, "doc.title.casebook"),
        subtitle=t(lang, "casebook.subtitle", count=len(cases)),
        issued=t(lang, "doc.issued", day=era_date(lang, now)),
        blocks=tuple(blocks),
        font=t(lang, "doc.font"),
    )


def case_month(language: str, case: Case) -> str:
    return era_month(language, case.when.astimezone(TOKYO).date())
