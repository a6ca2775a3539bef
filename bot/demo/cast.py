"""A fictional roster for the demo and for trying the terminal chat (`sample-data`), and
what its people type in the demo season (applications, consultations, logs, issues).

Every name and address here is invented; municipalities are real (seeded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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
    {
        "name": "前田 沙織",
        "role": "municipal",
        "email": "maeda@yatsushiro.example.jp",
        "title": "主査",
        "municipality": "八代市",
        "department": "市民課",
    },
    {
        "name": "藤井 拓也",
        "role": "municipal",
        "email": "fujii@tamana.example.jp",
        "title": "主任",
        "municipality": "玉名市",
        "department": "高齢介護課",
    },
    {
        "name": "岡本 彩",
        "role": "municipal",
        "email": "okamoto@koshi.example.jp",
        "title": "主事",
        "municipality": "合志市",
        "department": "子育て支援課",
    },
    {
        "name": "石田 亮",
        "role": "municipal",
        "email": "ishida@kamiamakusa.example.jp",
        "title": "係長",
        "municipality": "上天草市",
        "department": "総務課",
    },
    {
        "name": "清水 智子",
        "role": "municipal",
        "email": "shimizu@ozu.example.jp",
        "title": "主査",
        "municipality": "大津町",
        "department": "企画課",
    },
    {
        "name": "池田 蓮",
        "role": "municipal",
        "email": "ikeda@minamiaso.example.jp",
        "title": "主事",
        "municipality": "南阿蘇村",
        "department": "総務課",
    },
    {
        "name": "原田 由美",
        "role": "municipal",
        "email": "harada@ashikita.example.jp",
        "title": "主任",
        "municipality": "芦北町",
        "department": "税務住民課",
    },
    {
        "name": "小川 翼",
        "role": "municipal",
        "email": "ogawa@mifune.example.jp",
        "title": "主事",
        "municipality": "御船町",
        "department": "住民課",
    },
)


def person_values(entry: dict[str, Any], municipality_ids: dict[str, int]) -> dict[str, Any]:
    """The roster form's values for one cast member."""
    values = dict(entry)
    if "municipality" in values:
        values["municipality"] = str(municipality_ids[values["municipality"]])
    return values


# -- what the fictional people type in the demo season -------------------------------


@dataclass(frozen=True)
class Applicant:
    """A municipality applying for BPR support, and the team the prefecture assigns."""

    staff: str
    goal: str  # "" when the municipality has not set one yet
    description: str
    team: tuple[str, ...]


APPLICANTS: tuple[Applicant, ...] = (
    Applicant(
        "田中 美咲",
        "転入・転居手続のオンライン化の実現",
        "転入・転居の届出が年度末に集中し、窓口の待ち時間が長い。",
        ("高橋 誠", "中村 由紀"),
    ),
    Applicant(
        "松本 大輔",
        "",
        "証明書交付の件数が多く、窓口と郵送請求の処理に人手を取られている。",
        ("中村 由紀", "小林 健"),
    ),
    Applicant(
        "井上 恵",
        "RPA・AIツール活用による定型業務の削減",
        "定型的な入力・集計作業が多く、職員の時間外勤務が増えている。",
        ("小林 健", "高橋 誠"),
    ),
    Applicant(
        "坂本 直子",
        "",
        "庁内の業務手順が担当者任せで、見直しの進め方が分からない。",
        ("中村 由紀", "小林 健"),
    ),
    Applicant(
        "前田 沙織",
        "書かない窓口の導入による待ち時間の短縮",
        "住民票・印鑑登録などの窓口で、申請書の記入と転記に時間がかかっている。",
        ("高橋 誠", "小林 健"),
    ),
    Applicant(
        "藤井 拓也",
        "介護保険の申請・届出のオンライン化",
        "介護保険の申請書類が多く、郵送と窓口の受付事務が負担になっている。",
        ("中村 由紀", "小林 健"),
    ),
    Applicant(
        "岡本 彩",
        "保育所入所申請の電子化と審査事務の効率化",
        "保育所の入所申請が紙で、点数計算と入力を手作業で行っている。",
        ("小林 健", "中村 由紀"),
    ),
    Applicant(
        "石田 亮",
        "公共施設予約のオンライン化",
        "公民館・体育館の予約を電話と窓口で受けており、台帳管理も紙である。",
        ("中村 由紀", "高橋 誠"),
    ),
)
DECLINED = Applicant(
    "村上 優",
    "窓口業務の見直し",
    "業務量が増える中、限られた人員での対応が課題。",
    (),
)
DECLINE_REASON = "今年度の選定枠を超えたため。個別相談をご活用ください。"


@dataclass(frozen=True)
class Consultation:
    """A consultation as the municipality submits it; the prefecture assigns `consultant`."""

    submitted: date  # a business day
    staff: str
    topic: str  # one of handlers.intake.submission.TOPICS
    mode: str  # "visit" or "online"
    description: str
    consultant: str


# About three a month from several towns (the plan is 30 a year). The first two are
# told in detail in the demo (an approval refused, a question asked and answered).
CONSULTATIONS: tuple[Consultation, ...] = (
    Consultation(
        date(2026, 6, 4),
        "森 翔太",
        "online_application",
        "visit",
        "転入届など住民異動の手続を電子申請にしたいが、進め方が分からない。",
        "小林 健",
    ),
    Consultation(
        date(2026, 6, 4),
        "山口 健二",
        "my_number",
        "visit",
        "マイナンバーカードを使った証明書のコンビニ交付を広げたい。",
        "小林 健",
    ),
    Consultation(
        date(2026, 6, 17),
        "清水 智子",
        "rpa_ai",
        "online",
        "ふるさと納税の受付・入金確認の処理にRPAを使えるか相談したい。",
        "中村 由紀",
    ),
    Consultation(
        date(2026, 6, 24),
        "池田 蓮",
        "dx_structure",
        "visit",
        "庁内のDX推進体制(推進本部と各課の推進員)の作り方を相談したい。",
        "高橋 誠",
    ),
    Consultation(
        date(2026, 7, 6),
        "原田 由美",
        "online_application",
        "online",
        "軽自動車税の減免申請をオンラインで受け付けたい。",
        "小林 健",
    ),
    Consultation(
        date(2026, 7, 15),
        "小川 翼",
        "my_number",
        "visit",
        "マイナンバーカードを使った「書かない窓口」の始め方を知りたい。",
        "中村 由紀",
    ),
    Consultation(
        date(2026, 7, 28),
        "森 翔太",
        "rpa_ai",
        "online",
        "会議録の作成に生成AIを使う際の注意点とルールを知りたい。",
        "小林 健",
    ),
    Consultation(
        date(2026, 8, 4),
        "清水 智子",
        "other",
        "visit",
        "窓口手数料のキャッシュレス決済を導入する手順と費用を相談したい。",
        "高橋 誠",
    ),
    Consultation(
        date(2026, 8, 19),
        "山口 健二",
        "online_application",
        "online",
        "水道の使用開始・中止の届出をオンラインで受け付けたい。",
        "中村 由紀",
    ),
    Consultation(
        date(2026, 9, 1),
        "池田 蓮",
        "rpa_ai",
        "visit",
        "会計年度任用職員の勤怠集計を自動化したい。",
        "小林 健",
    ),
    Consultation(
        date(2026, 9, 10),
        "原田 由美",
        "dx_structure",
        "online",
        "職員向けDX研修の企画について助言がほしい。",
        "高橋 誠",
    ),
    Consultation(
        date(2026, 9, 24),
        "小川 翼",
        "online_application",
        "visit",
        "公民館など公共施設の予約をオンライン化したい。",
        "中村 由紀",
    ),
    Consultation(
        date(2026, 10, 1),
        "森 翔太",
        "my_number",
        "online",
        "マイナポータルから子育て関係の手続を受け付けたい。",
        "小林 健",
    ),
    Consultation(
        date(2026, 10, 8),
        "清水 智子",
        "rpa_ai",
        "online",
        "AI-OCRで紙の申請書を読み取る運用を相談したい。",
        "中村 由紀",
    ),
    Consultation(
        date(2026, 10, 19),
        "山口 健二",
        "dx_structure",
        "visit",
        "DX推進計画の改定に向けて、進捗の指標の立て方を相談したい。",
        "高橋 誠",
    ),
    Consultation(
        date(2026, 10, 27),
        "池田 蓮",
        "online_application",
        "online",
        "観光事業者向け補助金の申請をオンライン化したい。",
        "小林 健",
    ),
    Consultation(
        date(2026, 11, 5),
        "原田 由美",
        "rpa_ai",
        "visit",
        "住民税の当初課税で発生する手入力作業を減らしたい。",
        "中村 由紀",
    ),
    Consultation(
        date(2026, 11, 12),
        "小川 翼",
        "other",
        "online",
        "庁内の文書を電子決裁へ移行する手順を知りたい。",
        "小林 健",
    ),
)
INFO_QUESTION = "対象となる業務と、年間の処理件数を教えてください。"
INFO_ANSWER = "固定資産税の証明書発行業務で、年間約3,000件です。"

# Issues found in the sessions (課題 / 対応方針), recorded in some of the work logs.
ISSUES: tuple[tuple[str, str], ...] = (
    ("申請様式が紙のみで電子化されていない", "電子申請システムでの様式作成を支援する"),
    (
        "窓口で受け付けた申請を基幹システムへ手入力しており、転記ミスがある",
        "電子申請データの取込み(CSV連携)を検討する",
    ),
    ("業務手順が担当者ごとに異なり、引継ぎ資料がない", "As-Isフローをもとに標準手順書を作成する"),
    (
        "押印を求める様式が多く、オンライン化の妨げになっている",
        "押印見直しの一覧を作り、規則改正の手順を整理する",
    ),
    ("RPA化の候補業務を選ぶ基準がない", "処理件数と手順の定型度で候補を評価する表を提供する"),
    (
        "住民への周知が広報紙のみで、電子申請の利用が伸びない",
        "LINE公式アカウントとホームページでの周知案を作る",
    ),
    (
        "窓口手数料が現金のみで、締めの作業に時間がかかる",
        "キャッシュレス決済の導入事例と費用の目安を情報提供する",
    ),
    (
        "庁内の問い合わせが電話中心で、担当者の手が止まる",
        "よくある質問を整理し、庁内FAQの試行を提案する",
    ),
)

# What a BPR work log says, by the phase of the step the session worked on:
# (summary, response, next plan).
BPR_LOG: dict[str, tuple[str, str, str]] = {
    "hearing": (
        "対象部署の業務内容と課題をヒアリングした。",
        "対象業務の候補を整理し、優先順位の付け方を説明した。",
        "次回は対象業務を決め、現状フローの作成に着手する。",
    ),
    "as_is": (
        "対象業務の現状フロー(As-Is)を担当者と作成した。",
        "フロー図の書き方を示し、手戻りや待ちの箇所に印を付けた。",
        "次回はフローをもとに処理時間と件数を分析する。",
    ),
    "analysis": (
        "処理件数と作業時間を集計し、課題を洗い出した。",
        "課題の原因を整理し、改善の効果が大きい箇所を示した。",
        "次回は改善案(To-Be)の方向性を検討する。",
    ),
    "to_be": (
        "改善後の業務フロー(To-Be)の案を検討した。",
        "電子申請・RPA等の手段ごとに効果と費用の目安を示した。",
        "次回は実証に向けた準備と庁内調整の進め方を確認する。",
    ),
    "implementation_support": (
        "実証に向けた準備状況を確認した。",
        "設定手順と庁内説明の資料作成を支援した。",
        "次回は試行の結果を確認し、課題を整理する。",
    ),
    "implementation": (
        "試行の結果を振り返り、本格運用の計画を確認した。",
        "運用手順書の整備と次年度の展開について助言した。",
        "成果報告会での発表内容を整理する。",
    ),
}
CONSULTATION_LOG = (
    "相談内容を伺い、現状の手順と課題を確認した。",
    "他の市町村の事例と進め方を紹介し、最初に取り組む範囲を助言した。",
)
OFFICE_MINUTES = "各市町村の支援状況を報告し、翌月の予定を確認した。"
