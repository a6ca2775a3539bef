"""#18: the submission bundle — one zip with every document in Word and PDF, the
workbook, the attachments of the logs and an index (目録) that lists each file; from
the command line (`report bundle --out DIR`, progress on stderr) and from chat."""

from __future__ import annotations

import io
import zipfile

from docx import Document as open_docx
from sqlmodel import select

from bot.cli.report import run as report_cli
from handlers import router
from storage import attachments
from storage.models import WorkLog
from tests.support.report_season import DAY, args, at

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def attach(ctx, cast, names=("現状業務フロー.png", "現状業務フロー.png")) -> int:
    """Two files with one name on the first log: both must reach the zip."""
    with ctx.db.transaction() as session:
        log_id = min(log.id for log in session.exec(select(WorkLog)))
        attachments.add(
            session,
            [
                attachments.NewFile(name, "image/png", PNG + bytes([i]))
                for i, name in enumerate(names)
            ],
            by=cast["高橋 誠"].id,
            at=at(DAY, 18),
            log_id=log_id,
        )
    return log_id


def bundle(ctx, tmp_path, err=None) -> zipfile.ZipFile:
    err = err or io.StringIO()
    out = tmp_path / "提出"
    assert report_cli(ctx, args(tmp_path, kind="bundle", out=out), "ja", err) == 0
    [written] = list(out.iterdir())
    assert written.name == "提出書類一式_20260601-20270331.zip"
    return zipfile.ZipFile(written)


def test_the_bundle_holds_every_document_the_attachments_and_an_index(
    ctx,
    season,
    cast,
    tmp_path,
):
    log_id = attach(ctx, cast)
    err = io.StringIO()
    archive = bundle(ctx, tmp_path, err)
    names = archive.namelist()
    assert archive.testzip() is None
    for expected in (
        "01_実績報告書/実績報告書.docx",
        "01_実績報告書/実績報告書.pdf",
        "02_支援計画書/支援計画書.docx",
        "02_支援計画書/支援計画書.pdf",
        "03_業務日報/業務日報.docx",
        "03_業務日報/業務日報.pdf",
        "04_議事録/議事録.pdf",
        "05_相談事例集/相談事例集.pdf",
        "06_集計表/集計表.xlsx",
        f"07_添付資料/業務日報No.{log_id}/現状業務フロー.png",
        f"07_添付資料/業務日報No.{log_id}/現状業務フロー (2).png",
        "00_目録.docx",
        "00_目録.pdf",
    ):
        assert expected in names, (expected, names)
    assert archive.read(f"07_添付資料/業務日報No.{log_id}/現状業務フロー (2).png") == PNG + b"\x01"
    for name in names:  # each file is what its extension says
        head = archive.read(name)[:5]
        assert head.startswith(
            b"%PDF-"
            if name.endswith(".pdf")
            else b"PK"
            if name.endswith(("docx", "xlsx"))
            else b"\x89PNG"
        ), name
    # the index lists every other file, with what it is
    index = open_docx(io.BytesIO(archive.read("00_目録.docx")))
    listed = [row.cells[1].text for row in index.tables[0].rows[1:]]
    assert set(listed) == set(names) - {"00_目録.docx", "00_目録.pdf"}
    contents = {row.cells[1].text: row.cells[2].text for row in index.tables[0].rows[1:]}
    assert contents["01_実績報告書/実績報告書.pdf"].startswith("実績報告書")
    assert contents[f"07_添付資料/業務日報No.{log_id}/現状業務フロー.png"] == (
        f"業務日報 No.{log_id} の添付資料"
    )
    assert "熊本県知事 様" in [p.text for p in index.paragraphs]
    lines = err.getvalue().splitlines()
    assert any("提出書類一式: 1件目" in line for line in lines)
    assert "に書き出しました" in lines[-1] and lines[-1].split(" に")[0].endswith(".zip")


def test_the_bundle_is_refused_in_another_format_or_for_a_town(ctx, season, tmp_path):
    err = io.StringIO()
    assert report_cli(ctx, args(tmp_path, kind="bundle", out=tmp_path / "x.docx"), "ja", err) == 2
    assert "zip" in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1
    err = io.StringIO()
    refused = args(tmp_path, kind="bundle", out=tmp_path, municipality="宇土市")
    assert report_cli(ctx, refused, "ja", err) == 2 and "--municipality" in err.getvalue()
    assert not list(tmp_path.glob("*.zip"))


def test_the_prefecture_gets_the_bundle_from_chat(ctx, season, cast):
    reply = router.submit(ctx, cast["水前寺 花"], "report.request", {"report_document": "bundle"})
    assert reply.ok and reply.files[0].name.endswith(".zip")
    assert reply.files[0].mime == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(reply.files[0].content)).namelist()
    assert "01_実績報告書/実績報告書.pdf" in names
    staff = router.submit(ctx, cast["田中 美咲"], "report.request", {"report_document": "bundle"})
    assert not staff.ok and not staff.files
