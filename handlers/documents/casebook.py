"""R13: the case book — anonymised consultation cases and public advanced practices of
other local governments, searchable from the chat app.

Anonymisation (decided here, once; `Redactor`):
- Cases come from consultations with a filed log and from BPR engagements. Their free
  text (description, log summary and response, issues, goal) and their department (free
  text on the form: 「宇土市市民課 田中班」) keep their substance, but:
  - every personal name known to the database (each person, each requester, each
    municipal attendee typed into a log) becomes 「担当者」: the full name, the name
    without its space, and each part of two characters or more wherever it appears;
  - a one-character part (森 of 森 翔太, 恵 of 井上 恵) is replaced only where it stands as
    a name: followed by an honorific or a title (森さん, 恵課長, 森 氏), or standing alone
    between separators (start or end of the text, spaces, punctuation, brackets; a
    hiragana particle may precede it: 「主査の森」) — as in an attendee line
    「森、井上、高橋」, and followed at most by the particles が, は, と, も, から, より.
    Inside a word (森林, 恵まれる) it is left alone: replacing every 森 would blank
    ordinary words, and the part says little alone. With an honorific after kanji it is
    a longer surname the database does not know (大森さん of 森 翔太's colleague): the
    kanji before it (at most two, a whole word: after a non-kanji, a unit such as 課 or
    a 市/町/村/県) go with it, so 大森さん → 担当者, never 大担当者;
  - a name followed by an honorific or title is replaced together with it (森課長 →
    担当者), so no title is left pointing at the person;
  - titles: the table in templates/casebook/anonymise.json. Titles held by one person
    (市長, 副市長, 町長, 副町長, 村長, 教育長, 議長, 会計管理者 …) become 「幹部職員」, and
    a municipality followed by one (宇土市長, 宇土市教育長) becomes 「幹部職員」 as a whole;
    a department with its head (市民課長, 総務部次長: a unit 部/課/室/局/係/班/所/館/
    センター followed by 長 or a staff title) becomes 「職員」 as a whole; other titles
    in the table and every title known to the database become 「職員」;
  - municipalities: the full name (宇土市), its reading (うとし) and the name without
    市/町/村 when two characters or more (「宇土の窓口」) become its kind (県内の市/町/村).
    A municipality plus a department and a title often points at one official. A short
    name followed by an honorific is a person's surname (宇土さん) and becomes 担当者;
  - e-mail addresses and phone numbers (0 or +81 first, 10–12 digits with any hyphens,
    dashes, ー, spaces or parentheses between them, or none: 09012345678) are removed;
    brackets around one go with it (森(090-1234-5678) → 担当者(削除), never (削除))).
- Matching is done on a folded copy of the NFKC-normalised text: case-insensitive,
  katakana read as hiragana (タナカ = たなか), full-width letters, digits and ＠ as ASCII.
  The text written to the case book is that NFKC form. People have no reading field, so
  a name written only in kana is caught when the database has it in kana too.
- A case names no person, no title and no municipality. What the database does not
  know (a name typed nowhere else) cannot be recognised: so the prefecture reviews each
  case (`case.review`: 公開 / 非公開, audited, storage.cases) and other towns find only
  published ones; a town always sees its own. The case book document is published
  cases only. A publication holds for the content reviewed (its sha256, `digest`): a
  case that reads differently later (a log filed since) is awaiting review again
  (「内容が変わりました」) and hidden from other towns until published again.

Search ranking (explainable, no dependencies): Japanese has no spaces, so text is cut
into overlapping character bigrams after NFKC normalisation and lower-casing (ASCII
words such as "RPA" stay whole). An entry scores the sum, over the distinct query
bigrams it contains, of idf = ln(1 + N / df) (N entries, df entries containing the
bigram); a bigram in the entry's title or topic counts double. Ties go to the public
practices first, then the newest case. The best few are returned with their link.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from sqlmodel import Session

import templates
from handlers.core import payloads, policy
from handlers.core.actor import Actor
from handlers.core.context import Context
from handlers.core.errors import Refused
from handlers.core.i18n import LANGUAGES, t
from handlers.core.intents import intent
from handlers.core.lookups import next_page, pages
from handlers.core.reply import Button, Field, ListItem, ListView, Reply, Text
from handlers.documents.gathering import LogData, Names, Period, gather_logs
from storage import audit, engagements, people, report_rows, request_store
from storage import cases as cases_store
from storage.models import CaseReview, Engagement, Municipality, Request, RequestKind, SessionKind

PRACTICES_FILE = templates.DIR / "casebook" / "practices.json"
TABLE_FILE = templates.DIR / "casebook" / "anonymise.json"
# brackets around an address or a number go with it: 森(090-…) → 担当者(削除)
EMAIL = re.compile(r"(?P<open>\()?[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?(open)\)?)")
# Candidates only: `_phone` keeps those without 10-12 digits (a date, an amount).
PHONE = re.compile(
    r"(?<![0-9])(?P<open>\()?(?:\+81|\(?0)[0-9() \-\u2010-\u2015\u2212\u30fc\uff0d]{7,18}"
    r"[0-9](?![0-9])(?(open)\)?)"
)
KANJI = r"\u3005\u4e00-\u9fff"  # for re (kept as escapes)
BEFORE_SURNAME = r"\u5e02\u753a\u6751\u770c"  # 市町村県: 宇土市大森さん, a place then a person
ASCII_WORD = re.compile(r"[a-z0-9]+")
SEPARATORS = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class Case:
    ref: str  # C12 (a consultation) or B3 (a BPR engagement): no request number
    municipality_id: int | None  # whose case (never shown: for who may see it)
    topic: str  # a topic key (choice.topic.*)
    place: str  # 県内の町
    department: str
    when: datetime
    question: str
    response: str
    issues: tuple[tuple[str, str], ...]
    digest: str = ""  # of its content in DIGEST_LANGUAGE: what a publication is for


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


@dataclass(frozen=True)
class Words:
    """The replacements, in the reader's language."""

    someone: str  # 担当者
    staff: str  # 職員
    executive: str  # 幹部職員
    removed: str  # (削除)


@dataclass(frozen=True)
class Place:
    name: str
    reading: str
    kind: str  # 市, 町 or 村
    general: str  # 県内の市


@dataclass(frozen=True)
class Titles:
    """templates/casebook/anonymise.json (see the module docstring)."""

    executive: tuple[str, ...]
    staff: tuple[str, ...]
    units: tuple[str, ...]
    suffixes: tuple[str, ...]
    head: str  # 長: after a department or a municipality, its one head


@cache
def load_titles() -> Titles:
    data = json.loads(TABLE_FILE.read_text(encoding="utf-8"))
    return Titles(
        *(tuple(data[key]) for key in ("executive", "staff", "units", "suffixes")),
        head=data["head"],
    )


KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def fold(text: str) -> str:
    """The matching form of NFKC text: katakana as hiragana (same length, so a match's
    span is the span in the NFKC text too); case is left to re.IGNORECASE."""
    return text.translate(KATAKANA)


def _alternation(words: set[str]) -> str:
    """Longest first: at each position the regex takes the first alternative that
    matches, so the longest known word wins (宇土市 before 宇土, 田中美咲 before 田中)."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)) if w)


def _phone(match: re.Match[str], removed: str) -> str:
    digits = sum(c.isdigit() for c in match.group())
    return removed if 10 <= digits <= 12 else match.group()


class Redactor:
    """Replaces every personal name, title and municipality the database knows of, and
    every e-mail address and phone number, in free text (see the module docstring)."""

    def __init__(
        self,
        names: set[str],
        titles: set[str],
        places: list[Place],
        words: Words,
        table: Titles | None = None,
    ) -> None:
        table = table or load_titles()
        self.words = words
        # folded literal -> (what it is, its replacement); a place wins over a name and
        # a name over a title when the same word is both (宇土 of 宇土市 and 宇土 次郎).
        self.known: dict[str, tuple[str, str]] = {}
        executive = {fold(_normal(w)) for w in table.executive}
        staff = {fold(_normal(w)) for w in (*table.staff, *titles) if len(_normal(w)) >= 2}
        for title in staff - executive:
            self.known[title.casefold()] = ("title", words.staff)
        for title in executive:
            self.known[title.casefold()] = ("title", words.executive)
        parts: set[str] = set()
        for value in names:
            for variant, whole in _variants(value):
                if len(variant) >= 2:
                    self.known[variant.casefold()] = ("name", words.someone)
                elif not whole:
                    parts.add(variant)
        for place in places:
            full = fold(_normal(place.name))
            for head in (table.head, *executive):  # 宇土市長, 宇土市教育長: one holder
                self.known[(full + head).casefold()] = ("title", words.executive)
            self.known[full.casefold()] = ("place", place.general)
            if len(place.reading) >= 3:
                self.known[fold(_normal(place.reading)).casefold()] = ("place", place.general)
            short = full[: -len(place.kind)] if place.kind and full.endswith(place.kind) else ""
            if len(short) >= 2:
                self.known[short.casefold()] = ("short", place.general)
        suffixes = {fold(_normal(w)) for w in (*table.suffixes, *staff, *executive)}
        honorifics = {fold(_normal(w)) for w in table.suffixes}
        self.honorifics = {w.casefold() for w in honorifics}
        units = _alternation({fold(_normal(w)) for w in table.units})
        unit_ends = "".join(sorted({w[-1] for w in table.units})) + BEFORE_SURNAME
        heads = _alternation({table.head, *staff, *executive})
        words_pattern = _alternation(set(self.known))
        suffix_pattern = _alternation(suffixes)
        one = _alternation(parts)
        self.pattern = re.compile(
            # a department and its head (市民課長): kanji, a unit, 長 or a title — but not
            # 長期, 長時間, 長引く, 長距離, 長年, 長い, 長く, 長さ
            rf"(?P<dept>[\u3005\u4e00-\u9fff]{{1,11}}?(?:{units})(?:{heads})"
            rf"(?![\u671f\u6642\u5f15\u8ddd\u5e74\u3044\u304f\u3055]))"
            rf"|(?P<word>{words_pattern})(?P<suffix> ?(?:{suffix_pattern}))?"
            + (
                # with an honorific: the kanji just before go with it (大森さん), a whole
                # word of at most two — else the one kanji before (支援担当大森さん)
                rf"|(?:(?:(?<![{KANJI}])|(?<=[{unit_ends}]))[{KANJI}]{{1,2}}|[{KANJI}])?"
                rf"(?P<one>{one}) ?(?:{suffix_pattern})"
                # alone: no kanji or letter before (a particle may be), none after but
                # the particles が, は, と, も, から, より
                rf"|(?<![\u3005\u4e00-\u9fffA-Za-z0-9])(?P<alone>{one})"
                rf"(?:(?![^\W_])|(?=[\u304c\u306f\u3068\u3082]|\u304b\u3089|\u3088\u308a))"
                if parts
                else ""
            ),
            re.IGNORECASE,
        )

    def __call__(self, text: str) -> str:
        text = EMAIL.sub(self.words.removed, _normal(text or ""))
        text = PHONE.sub(lambda m: _phone(m, self.words.removed), text)
        key = fold(text)
        out: list[str] = []
        last = 0
        for match in self.pattern.finditer(key):
            out.append(text[last : match.start()])
            out.append(self._replacement(match))
            last = match.end()
        out.append(text[last:])
        return "".join(out)

    def _replacement(self, match: re.Match[str]) -> str:
        if match.group("dept") is not None:
            return self.words.staff
        if match.group("word") is None:  # a one-character name part
            return self.words.someone
        what, replacement = self.known[match.group("word").casefold()]
        suffix = match.group("suffix")
        if suffix is None:
            return replacement
        if what == "name" or (what == "short" and suffix.strip().casefold() in self.honorifics):
            return self.words.someone  # the name and its honorific or title together
        # A place or a title followed by a title: each replaced on its own.
        tail = self.known.get(suffix.strip().casefold())
        return replacement + (tail[1] if tail else suffix)


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _variants(value: str) -> list[tuple[str, bool]]:
    """A name's matching forms with whether each is the whole name: as typed, without
    its spaces, and each of its parts (one-character parts are handled apart)."""
    value = fold(_normal(value))
    if not value:
        return []
    found = [(value, True), (re.sub(r"\s+", "", value), True)]
    parts = value.split()
    if len(parts) > 1:
        found += [(part, False) for part in parts]
    return found


def redactor(
    session: Session,
    language: str,
    known: Names | None = None,
    municipalities: list[Municipality] | None = None,
) -> Redactor:
    """`known` and `municipalities`: what the caller has read already (else read here)."""
    known = known or Names(session)
    if municipalities is None:
        municipalities = people.municipalities(session)
    names: set[str] = set()
    titles: set[str] = set()
    for person in known.people.values():
        names.add(person.name)
        titles.add(person.title or "")
    for name, title in [
        *report_rows.request_people(session),
        *report_rows.attendee_people(session),
    ]:
        names.add(name)
        titles.add(title)
    places = [Place(m.name, m.reading, m.kind, _place(language, m)) for m in municipalities]
    words = Words(
        t(language, "casebook.someone"),
        t(language, "casebook.staff"),
        t(language, "casebook.executive"),
        t(language, "casebook.removed"),
    )
    return Redactor(names, titles, places, words)


def _place(language: str, municipality: Municipality | None) -> str:
    return t(language, "casebook.place", kind=municipality.kind if municipality else "-")


EVERY = -1  # gather_cases(shown_to=EVERY): every case, reviewed or not (the review list)
CHANGED = "changed"  # published, but its content is no longer the one reviewed
# Digests are of the Japanese text whoever reviews or reads: the substance is the same in
# every language, and one digest lets a case published in English reach Japanese readers.
DIGEST_LANGUAGE = LANGUAGES[0]


def digest(case: Case) -> str:
    """sha256 of what a reader of the case sees (not its date or whose it is): the
    prefecture's decision holds for this content only (see `review_status`)."""
    content: list[object] = [case.topic, case.place, case.department, case.question]
    content += [case.response, *(list(issue) for issue in case.issues)]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def review_status(case: Case, row: CaseReview | None) -> str:
    """pending (never reviewed), published, withheld, or CHANGED: published, but the
    case reads differently now (a log filed since) — awaiting review again, and other
    towns do not see it until it is published again."""
    if row is None:
        return "pending"
    if row.status == cases_store.PUBLISHED and row.digest != case.digest:
        return CHANGED
    return row.status


def gather_cases(session: Session, language: str, *, shown_to: int | None = None) -> list[Case]:
    """Every consultation with a filed log, and every BPR engagement, anonymised, that
    the reader may see: published ones still reading as published, and those of
    municipality `shown_to` (its own). None: published only (the case book document);
    EVERY: all (the prefecture's review)."""
    cases = _Builder(session, language).every_case()
    if shown_to == EVERY:
        return cases
    public = cases_store.published(session)
    return [
        c
        for c in cases
        if (c.ref in public and public[c.ref] == c.digest)
        or (shown_to and c.municipality_id == shown_to)
    ]


def case_of(session: Session, language: str, ref: str) -> Case | None:
    """The one case `ref` names (C12, B3), built alone: a click on one case reads and
    redacts only its own logs, not the whole case book."""
    kind, number = ref[:1], int(ref[1:])
    builder = _Builder(session, language)
    if kind == "C":
        request = request_store.get(session, number)
        if request is None or request.kind != RequestKind.CONSULTATION:
            return None
        logs = gather_logs(
            session,
            Period(),
            names=builder.names,
            log_ids=cases_store.logs_of_request(session, number),
        )
        return builder.consultation(request, _by_request(logs).get(number, []))
    engagement = engagements.get(session, number)
    if engagement is None:
        return None
    logs = gather_logs(
        session,
        Period(),
        names=builder.names,
        log_ids=cases_store.logs_in_municipality(session, engagement.municipality_id),
    )
    done = cases_store.engagements_with_done_steps(session, [number])
    place = builder.names.place(engagement.municipality_id)
    return builder.engagement(engagement, _by_place(logs).get(place, []), number in done)


def _by_request(logs: list[LogData]) -> dict[int, list[LogData]]:
    """Each request's logs (a log once however many of its sessions the request has)."""
    found: dict[int, dict[int, LogData]] = {}
    for log in logs:
        for row in log.sessions:
            if row.request_id:
                found.setdefault(row.request_id, {})[log.id] = log
    return {request: list(by_id.values()) for request, by_id in found.items()}


def _by_place(logs: list[LogData]) -> dict[str, list[LogData]]:
    """The logs with a BPR session, by each municipality they name."""
    found: dict[str, list[LogData]] = {}
    for log in logs:
        if any(r.kind == SessionKind.BPR for r in log.sessions):
            for place in log.municipalities:
                found.setdefault(place, []).append(log)
    return found


class _Builder:
    """What making cases reads once (names, municipalities, the redactors), and the
    making of one case in the reader's language with its digest (DIGEST_LANGUAGE)."""

    def __init__(self, session: Session, language: str) -> None:
        self.session = session
        self.language = language
        self.names = Names(session)
        municipalities = people.municipalities(session)
        self.by_id = {m.id: m for m in municipalities}
        self.redact = redactor(session, language, self.names, municipalities)
        self.canonical = (
            self.redact
            if language == DIGEST_LANGUAGE
            else redactor(session, DIGEST_LANGUAGE, self.names, municipalities)
        )

    def every_case(self) -> list[Case]:
        logs = gather_logs(self.session, Period(), names=self.names)
        by_request = _by_request(logs)
        cases = [
            self.consultation(request, by_request.get(request.id or 0, []))
            for request in report_rows.consultation_requests(self.session)
        ]
        listed = engagements.listing(self.session)
        done = cases_store.engagements_with_done_steps(self.session)
        by_place = _by_place(logs)
        cases += [
            self.engagement(e, by_place.get(self.names.place(e.municipality_id), []), e.id in done)
            for e in listed
        ]
        return [c for c in cases if c is not None]

    def consultation(self, request: Request, found: list[LogData]) -> Case | None:
        """The case of a consultation with a filed log (None without one)."""
        if not found:
            return None
        return self._digested(
            lambda language, redact: self._consultation(request, found, language, redact)
        )

    def engagement(self, engagement: Engagement, found: list[LogData], done: bool) -> Case | None:
        """The case of a BPR engagement with a log or a step done (else None)."""
        if not found and not done:
            return None
        return self._digested(
            lambda language, redact: self._engagement(engagement, found, language, redact)
        )

    def _digested(self, make: Callable[[str, Redactor], Case]) -> Case:
        case = make(self.language, self.redact)
        canonical = (
            case if self.language == DIGEST_LANGUAGE else make(DIGEST_LANGUAGE, self.canonical)
        )
        return replace(case, digest=digest(canonical))

    def _consultation(
        self, request: Request, found: list[LogData], language: str, redact: Redactor
    ) -> Case:
        return Case(
            ref=f"C{request.id}",
            municipality_id=request.municipality_id,
            topic=request.topic,
            place=_place(language, self.by_id.get(request.municipality_id)),
            department=redact(request.department),
            when=found[0].sessions[0].starts_at if found[0].sessions else found[0].filed_at,
            question=redact(request.description),
            response=redact("\n".join(f"{log.summary}\n{log.response}" for log in found)),
            issues=_issues(found, redact),
        )

    def _engagement(
        self, engagement: Engagement, found: list[LogData], language: str, redact: Redactor
    ) -> Case:
        return Case(
            ref=f"B{engagement.id}",
            municipality_id=engagement.municipality_id,
            topic="bpr",
            place=_place(language, self.by_id.get(engagement.municipality_id)),
            department=redact(engagement.department),
            when=engagement.created_at,
            question=redact(engagement.goal or t(language, "casebook.no_goal")),
            response=redact("\n".join(dict.fromkeys(log.response for log in found))),
            issues=_issues(found, redact),
        )


def _issues(found: list[LogData], redact: Redactor) -> tuple[tuple[str, str], ...]:
    return tuple(
        dict.fromkeys((redact(i.content), redact(i.policy)) for log in found for i in log.issues)
    )


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


def search(
    session: Session, language: str, query: str, limit: int = 5, *, shown_to: int | None = None
) -> list[Hit]:
    """`shown_to`: the reader's municipality (its own cases too); see gather_cases."""
    cases = gather_cases(session, language, shown_to=shown_to)
    entries = [case_entry(language, c) for c in cases]
    entries += [practice_entry(language, p) for p in load_practices().items]
    return rank(entries, query, limit)


# -- review: the prefecture publishes a case before other towns can find it -------------
REVIEW_PAGE = 10
REVIEW_SNIPPET = 200


def _case_ref(value: str) -> str:
    """The case a button names (kind C or B and a number), re-read from its payload."""
    ref = payloads.decode(value)
    if ref.kind not in ("C", "B") or ref.id is None:
        raise Refused("refusal.bad_payload")
    return f"{ref.kind}{ref.id}"


def _review_item(language: str, case: Case, status: str) -> ListItem:
    value = payloads.encode(kind=case.ref[0], id=int(case.ref[1:]))
    buttons = [
        Button("case.publish", t(language, "case.publish"), value, "primary"),
        Button("case.withhold", t(language, "case.withhold"), value, "danger"),
    ]
    shown = [b for b in buttons if b.action != f"case.{_ACTION_OF.get(status, '')}"]
    topic = t(language, f"choice.topic.{case.topic}")
    return ListItem(
        title=t(
            language,
            "casebook.case_title",
            ref=case.ref,
            topic=topic,
            department=case.department,
        ),
        fields=(
            Field(t(language, "case.field.status"), t(language, f"case.status.{status}")),
            Field(t(language, "case.field.question"), _snippet(case.question, REVIEW_SNIPPET)),
            Field(t(language, "case.field.response"), _snippet(case.response, REVIEW_SNIPPET)),
        ),
        buttons=tuple(shown),
    )


_ACTION_OF = {cases_store.PUBLISHED: "publish", cases_store.WITHHELD: "withhold"}
AWAITING = ("pending", CHANGED)  # both offer 公開 and 非公開


@intent("case.review", policy.CASE_REVIEW)
def review(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """Every case as it will read once published (anonymised), those awaiting review
    first (never reviewed, or changed since published), then the newest; each with
    公開 / 非公開 (the one it is not)."""
    lang = actor.language
    page = payloads.decode(ref).page
    with ctx.db.transaction() as session:
        found = gather_cases(session, lang, shown_to=EVERY)
        decided = cases_store.reviews(session)
    status = {c.ref: review_status(c, decided.get(c.ref)) for c in found}
    found.sort(key=lambda c: (status[c.ref] not in AWAITING, -c.when.timestamp(), c.ref))
    pending = sum(1 for s in status.values() if s in AWAITING)
    count = pages(len(found), REVIEW_PAGE)
    shown = found[(page - 1) * REVIEW_PAGE : page * REVIEW_PAGE]
    more = next_page(lang, "case.review", page, count)
    return Reply(
        (
            ListView(
                t(lang, "list.case_review.title", pending=pending, count=len(found)),
                tuple(_review_item(lang, c, status[c.ref]) for c in shown),
                page,
                count,
                t(lang, "list.case_review.empty"),
                more,
            ),
        ),
        data={"cases": len(found), "pending": pending},
    )


def _decide(ctx: Context, actor: Actor, value: str, status: str) -> Reply:
    ref = _case_ref(value)
    with ctx.db.transaction() as session:
        case = case_of(session, actor.language, ref)
        if case is None:
            raise Refused("refusal.case_unknown", target_type="case", target_id=ref)
        now = ctx.clock.now()
        before, before_digest = cases_store.decide(
            session, ref, case.municipality_id, status, case.digest, by=actor.id, at=now
        )
        if before == cases_store.PUBLISHED and before_digest != case.digest:
            before = CHANGED  # as the list showed it: published, then changed
        audit.record(
            session,
            at=now,
            actor_id=actor.id,
            action=f"case.{_ACTION_OF[status]}",
            target_type="case",
            target_id=ref,
            before={"status": before} if before else None,
            after={"status": status},
        )
    key = "case.published" if status == cases_store.PUBLISHED else "case.withheld"
    return Reply((Text(t(actor.language, key, ref=ref), "success"),), data={"ref": ref})


@intent("case.publish", policy.CASE_REVIEW)
def publish(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """公開: other towns find the case in search and the case book lists it."""
    return _decide(ctx, actor, ref, cases_store.PUBLISHED)


@intent("case.withhold", policy.CASE_REVIEW)
def withhold(ctx: Context, actor: Actor, ref: str = "") -> Reply:
    """非公開: only its own town finds it (a published case can be withdrawn)."""
    return _decide(ctx, actor, ref, cases_store.WITHHELD)
