"""A fictional roster for the demo and for trying the terminal chat (`sample-data`).

Every name and address here is invented; municipalities are real (seeded)."""

from __future__ import annotations

from typing import Any

# (name, role, title, municipality, department, extra)
CAST: tuple[dict[str, Any], ...] = (
    {"name": "管理 太郎", "role": "admin", "email": "admin@example.jp", "title": "システム管理者"},
    {
        "name": "熊本 県子",
        "role": "prefecture",
        "email": "kenko@example.jp",
        "title": "デジタル戦略推進課 課長補佐",
        "approver": "yes",
    },
    {
        "name": "阿蘇 一郎",
        "role": "prefecture",
        "email": "aso@example.jp",
        "title": "デジタル戦略推進課 主幹",
        "approver": "yes",
    },
    {
        "name": "水前寺 花",
        "role": "prefecture",
        "email": "hana@example.jp",
        "title": "デジタル戦略推進課 主事",
    },
    {
        "name": "高橋 誠",
        "role": "consultant",
        "email": "takahashi@example.jp",
        "lead": "yes",
        "qualifications": ["itc", "ap"],
    },
    {
        "name": "中村 由紀",
        "role": "consultant",
        "email": "nakamura@example.jp",
        "qualifications": ["fe"],
    },
    {
        "name": "小林 健",
        "role": "consultant",
        "email": "kobayashi@example.jp",
        "qualifications": ["ap"],
    },
    {
        "name": "田中 美咲",
        "role": "municipal",
        "email": "tanaka@uto.example.jp",
        "title": "主査",
        "municipality": "宇土市",
        "department": "市民課",
    },
    {
        "name": "松本 大輔",
        "role": "municipal",
        "email": "matsumoto@yamaga.example.jp",
        "title": "主任",
        "municipality": "山鹿市",
        "department": "税務課",
    },
    {
        "name": "井上 恵",
        "role": "municipal",
        "email": "inoue@kikuchi.example.jp",
        "title": "係長",
        "municipality": "菊池市",
        "department": "総務課",
    },
    {
        "name": "坂本 直子",
        "role": "municipal",
        "email": "sakamoto@aso.example.jp",
        "title": "課長補佐",
        "municipality": "阿蘇市",
        "department": "情報政策課",
    },
    {
        "name": "村上 優",
        "role": "municipal",
        "email": "murakami@nishihara.example.jp",
        "title": "主事",
        "municipality": "西原村",
        "department": "総務課",
    },
    {
        "name": "森 翔太",
        "role": "municipal",
        "email": "mori@misato.example.jp",
        "title": "主事",
        "municipality": "美里町",
        "department": "住民課",
    },
    {
        "name": "山口 健二",
        "role": "municipal",
        "email": "yamaguchi@hitoyoshi.example.jp",
        "title": "係長",
        "municipality": "人吉市",
        "department": "税務課",
    },
)


def person_values(entry: dict[str, Any], municipality_ids: dict[str, int]) -> dict[str, Any]:
    """The roster form's values for one cast member."""
    values = dict(entry)
    if "municipality" in values:
        values["municipality"] = str(municipality_ids[values["municipality"]])
    return values
