"""The shared corpus of hostile strings: what people type (or paste, or forge) that a
renderer, a document writer or a database may take for something else.

Every message renderer and document writer is tested against `CORPUS` (see
tests/test_hostile_text.py); a new output format adds its test there, a new trick adds a
line here. Each entry: a name (the test id) and the text as it arrives.
"""

from __future__ import annotations

LONG_LENGTH = 5000

CORPUS: dict[str, str] = {
    # Slack: mentions, channel pings and disguised links in mrkdwn
    "slack_mentions": "<!channel> <!here> <!everyone> <@U0123ABC> <#C0123ABC> 至急",
    "slack_link": "<https://evil.example|ここ>をクリック <mailto:a@evil.example|県>",
    "slack_broadcast_words": "@channel @here よろしく",
    "slack_markup": "*至急* _重要_ ~取消~ `code` ```block```\n> 引用",
    "slack_date_trick": "<!date^1392734382^{date}|Feb 18>",
    # Teams card markdown
    "teams_link": "[ここ](https://evil.example) **至急**",
    "teams_lists": "- 項目\n* 項目\n1. 一番\n# 見出し\n> 引用",
    "teams_functions": "{{DATE(2017-02-14T06:08:39Z, SHORT)}}",
    # HTML and script (documents, Teams, mail clients)
    "html_script": '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;&lt;',
    # invisible and control characters
    "bidi_override": "請求書\u202etxt.exe\u202c 田中\u2066abc\u2069",
    "zero_width": "田\u200b中\u200c美\ufeff咲\u2060",
    "vertical_tab": "取組目標\x0b二行目\x0c三行目",
    "nul": "説明\x00の途中",
    "lone_surrogate": "説明\ud800の途中",
    "escape_sequence": "色\x1b[31m赤\x1b]8;;https://evil.example\x07リンク\x1b]8;;\x07",
    "carriage_return": "一行目\r\n二行目\r三行目",
    # size, width and emoji
    "very_long": "長" * LONG_LENGTH,
    "full_width": "ＡＢＣ　１２３／４５６：７８９－０",
    "emoji_zwj": "👩\u200d👩\u200d👧 ❤\ufe0f\u200d🔥 👍🏽 "
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    # what a database might take for syntax
    "sql_ish": "'; DROP TABLE request; -- \" OR 1=1 %s %(x)s {0} \\",
}

# Characters that must never reach any renderer's output, whatever the entry point.
NEVER_OUTPUT = ("\x00", "\x0b", "\x0c", "\x1b", "\ud800")

# A line of typed text for forms (single-line fields refuse what long text strips).
INVISIBLE = ("bidi_override", "zero_width", "vertical_tab", "nul", "lone_surrogate")
