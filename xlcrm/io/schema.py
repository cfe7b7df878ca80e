"""The workbook schema: every sheet, header, type and vocabulary, declared once.

DOMAIN.md is the spec. Each sheet is an Excel Table with one header row; headers
are Chinese, and the English alias in brackets is accepted too, so an English
workbook loads the same. The loader, the validator, the template writer and the
output writers all read this module; no other module spells a header.

Column kinds:
    text      free text, kept as typed
    phone     text; numbers typed as numbers are turned back into digits
    date      a date (or date-time); text dates such as 2024/3/5 are understood
    monthday  a full date or just month-day (03-15, 3月15日), e.g. a birthday
    int/float numbers
    enum      one of `choices`
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

from ..core.vocab import (
    CALENDARS,
    CHANNELS,
    CHURN_REASONS,
    CLASSES,
    GENDERS,
    INFLUENCE,
    KEYDATE_KINDS,
    PURPOSES,
    REFERRAL_STATES,
    SOURCES,
    STAGES,
    WILLINGNESS,
    YES_NO,
)


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    Attributes:
      key: the English identifier code uses (`df["birthday"]`) and the English header.
      zh: the Chinese header.
      kind: text, phone, date, monthday, int, float or enum.
      required: a row needs a value here.
      choices: the vocabulary of an enum column (a dropdown in the template).
      width: column width in the template, in characters.
      en: the English header when it differs from `key`.
    """

    key: str
    zh: str
    kind: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    width: float = 12
    en: str | None = None

    @property
    def english(self) -> str:
        return self.en or self.key

    def header(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.english


@dataclass(frozen=True)
class Sheet:
    """One sheet (one Excel Table) of the workbook."""

    key: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    table: str  # the Excel Table name (ASCII, so formulas work in every locale)
    owned: bool = False  # written by the program, never typed into
    notes: tuple[str, ...] = field(default=())

    def name(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


C = Column

CLIENTS = Sheet("clients", "客户", "Clients", (
    C("client_id", "客户编号", required=True, width=11),
    C("name", "姓名", required=True, width=10),
    C("gender", "性别", "enum", choices=GENDERS, width=6),
    C("phone", "手机", "phone", width=14),
    C("agent", "负责顾问", required=True, width=10),
    C("source", "来源", "enum", choices=SOURCES, width=9),
    C("stage", "阶段", "enum", choices=STAGES, width=8),
    C("first_contact", "首次接触日期", "date", width=12),
    C("birthday", "生日", "monthday", width=12),
    C("birthday_calendar", "生日历法", "enum", choices=CALENDARS, width=8),
    C("industry", "行业", width=10),
    C("company", "单位", width=16),
    C("title", "职务", width=10),
    C("income", "年收入(万元)", "float", width=11, en="annual_income"),
    C("deal_value", "成交金额(万元)", "float", width=13),
    C("deal_count", "成交次数", "int", width=8),
    C("last_deal_date", "最近成交日期", "date", width=12),
    C("satisfaction", "满意度", "int", choices=("1", "2", "3", "4", "5"), width=7),
    C("influence", "影响力", "enum", choices=INFLUENCE, width=7),
    C("referral_willingness", "转介绍意愿", "enum", choices=WILLINGNESS, width=10),
    C("class_override", "手动类别", "enum", choices=CLASSES, width=8),
    C("do_not_contact", "勿扰", "enum", choices=YES_NO, width=6),
    C("churn_reason", "流失原因", "enum", choices=CHURN_REASONS, width=8),
    C("notes", "备注", width=20),
), table="Clients")

KEY_DATES = Sheet("key_dates", "关怀日期", "KeyDates", (
    C("client_id", "客户编号", required=True, width=11),
    C("kind", "类型", "enum", required=True, choices=KEYDATE_KINDS, width=10),
    C("who", "对象", width=8),
    C("date", "日期", "monthday", required=True, width=12),
    C("calendar", "历法", "enum", choices=CALENDARS, width=7),
    C("notes", "备注", width=20),
), table="KeyDates")

CONTACTS = Sheet("contacts", "跟进记录", "Contacts", (
    C("client_id", "客户编号", required=True, width=11),
    C("date", "日期", "date", required=True, width=16),
    C("agent", "顾问", width=10),
    C("channel", "方式", "enum", required=True, choices=CHANNELS, width=7),
    C("purpose", "事由", "enum", choices=PURPOSES, width=10),
    C("outcome", "结果", width=14),
    C("promised_date", "承诺反馈日期", "date", width=12),
    C("next_follow_up", "下次跟进日期", "date", width=12),
    C("notes", "备注", width=24),
), table="Contacts")

REFERRALS = Sheet("referrals", "转介绍", "Referrals", (
    C("referral_id", "推荐编号", required=True, width=10),
    C("referrer_id", "推荐人编号", required=True, width=11),
    C("referred_name", "被推荐人姓名", required=True, width=12),
    C("referred_phone", "被推荐人电话", "phone", width=14),
    C("referred_company", "被推荐人单位", width=16),
    C("date", "推荐日期", "date", required=True, width=12),
    C("referred_client_id", "被推荐人客户编号", width=14),
    C("state", "状态", "enum", choices=REFERRAL_STATES, width=8),
    C("feedback_date", "已反馈推荐人日期", "date", width=14),
    C("reward", "奖励", width=10),
    C("notes", "备注", width=20),
), table="Referrals")

AGENTS = Sheet("agents", "顾问", "Agents", (
    C("agent", "顾问", required=True, width=10),
    C("login", "登录名", width=12),
    C("email", "邮箱", width=22),
    C("team", "团队", width=10),
    C("manager", "主管", width=10),
    C("active", "在职", "enum", choices=YES_NO, width=6),
), table="Agents")

RULES_SHEET = Sheet("rules", "规则", "Rules", (
    C("key", "规则", required=True, width=22),
    C("value", "值", width=22),
    C("description", "说明", width=60),
), table="Rules")

TEMPLATES = Sheet("templates", "短信模板", "Templates", (
    C("name", "模板名", required=True, width=14),
    C("body", "内容", width=90),
), table="Templates")

MY_TASKS = Sheet("my_tasks", "我的任务", "MyTasks", (
    C("due", "日期", "date", width=11, en="date"),
    C("priority", "优先级", width=7),
    C("client_id", "客户编号", width=11),
    C("name", "姓名", width=9),
    C("client_class", "类别", width=6, en="class"),
    C("task", "任务", width=30),
    C("channel", "方式", width=7),
    C("reason", "原因", width=36),
    C("sms", "短信草稿", width=50),
    C("phone", "手机", "phone", width=14),
    C("done", "完成", "enum", choices=YES_NO, width=6),
), table="MyTasks", owned=True)

BOARD = Sheet("board", "客户看板", "Board", (
    C("client_id", "客户编号", width=11),
    C("name", "姓名", width=9),
    C("agent", "负责顾问", width=10),
    C("client_class", "类别", width=6, en="class"),
    C("class_reason", "类别依据", width=22),
    C("status", "跟进状态", width=10),
    C("days_since", "距上次联系天数", "int", width=13),
    C("next_task", "下一步", width=30),
    C("next_date", "下一步日期", "date", width=12),
), table="Board", owned=True)

SHEETS: tuple[Sheet, ...] = (
    CLIENTS, KEY_DATES, CONTACTS, REFERRALS, AGENTS, RULES_SHEET, TEMPLATES, MY_TASKS, BOARD
)
USER_SHEETS = tuple(s for s in SHEETS if not s.owned)
SHEET_BY_KEY = {s.key: s for s in SHEETS}

# The agent selector of 我的任务 sits to the right of its table, in the header row,
# so the table keeps its header at the top and the ribbon knows whose tasks to show.
SELECTOR_LABEL = "当前顾问"
SELECTOR_LABEL_EN = "Agent"
SELECTOR_COL = len(MY_TASKS.columns) + 1  # 0-based column of the label (M)


def find_sheet(names: list[str], sheet: Sheet) -> str | None:
    """The workbook's sheet name for `sheet`, matching Chinese or English names."""
    wanted = {sheet.zh, sheet.en.lower(), sheet.key}
    for name in names:
        if name.strip() in wanted or name.strip().lower() in wanted:
            return name
    return None


def header_map(sheet: Sheet) -> dict[str, str]:
    """Chinese header, English header and key, each mapped to the column key."""
    out: dict[str, str] = {}
    for col in sheet.columns:
        for alias in (col.zh, col.english, col.key, col.english.lower()):
            out[alias] = col.key
    return out


def column_letter_of(sheet: Sheet, key: str) -> str:
    """The Excel letter of a column in the layout the template writes."""
    return get_column_letter(sheet.keys.index(key) + 1)
