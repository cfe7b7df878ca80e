"""Import an office's existing client list or contact log into the master workbook.

Every office that adopts xlcrm already keeps its clients in some spreadsheet: columns
named 客户姓名, 联系电话, 置业顾问 in any order, a merged title above the header, phones
typed five ways, dates as text, the same client twice. `plan_import` reads such a
file (.xlsx/.xlsm via python-calamine, .csv in UTF-8, UTF-8 with BOM, UTF-16 or GBK),
finds the header row, maps its columns through the schema's synonym table, decides
whether it is a client list (→ 客户) or a contact log (→ 跟进记录), and checks every
row against the master: bad rows and duplicates become findings with the source
cell (`leads.xlsx!C7: 手机 13800138000 与 客户!D12 重复`) and are left out.
`write_import` appends the good rows with `append.append_tables` (atomic, every
other part byte-identical). Columns nobody asked for are not dropped: their values
go to 备注 as `列名: 值`.

    result = plan_import("客户维护.xlsx", "老客户.xlsx", agents=["张伟"])
    write_import(result)
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import cycle
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from ..core import vocab
from ..core.records import Book, Finding
from . import schema
from .dates import parse_date, parse_month_day
from .errors import WorkbookError
from .loader import cell_of, check_readable, load
from .phones import mobile_key, parse_phone

CONTACT_ONLY = {"date", "channel", "purpose", "outcome", "promised_date", "next_follow_up"}
HEADER_SCAN = 30
MAX_NOTE = 32767

_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])[\s\u3000]+(?=[\u3400-\u9fff])")
_PAREN_TAIL = re.compile(r"\(.*\)$")
_ID = re.compile(r"^([A-Za-z]*)(\d+)$")
_SPACES = re.compile(r"\s+")
_GENDER = {"男": "男", "女": "女", "m": "男", "male": "男", "f": "女", "female": "女", "男性": "男", "女性": "女",
           "先生": "男", "女士": "女", "小姐": "女"}
_YES_NO = {"是": vocab.YES, "否": vocab.NO, "y": vocab.YES, "yes": vocab.YES, "n": vocab.NO, "no": vocab.NO,
           "true": vocab.YES, "false": vocab.NO, "1": vocab.YES, "0": vocab.NO, "√": vocab.YES, "×": vocab.NO}


class ImportRefused(Exception):
    """The import cannot go ahead as asked; the message says what to do (exit 1)."""


@dataclass
class SourceTable:
    """The raw cells of the one sheet (or CSV) being imported."""

    path: Path
    sheet: str | None
    sheets: list[str]
    rows: list[list[Any]]
    encoding: str | None = None

    @property
    def label(self) -> str:
        return self.path.name


@dataclass
class Plan:
    """Which column goes where: key per source column (None → 备注, "" → ignored)."""

    target: str
    header_at: int  # 0-based index of the header row
    headers: list[str]
    keys: list[str | None]
    remarks: list[str] = field(default_factory=list)

    def column_of(self, key: str) -> int | None:
        return self.keys.index(key) if key in self.keys else None

    @property
    def mapped(self) -> set[str]:
        return {k for k in self.keys if k}


@dataclass
class ImportResult:
    master: Path
    source: SourceTable
    plan: Plan
    rows: list[dict[str, Any]]
    findings: list[Finding]
    skipped: int
    duplicates: int
    new_agents: list[str]
    backup: Path | None = None

    @property
    def target_sheet(self) -> schema.Sheet:
        return schema.SHEET_BY_KEY[self.plan.target]


# ----------------------------------------------------------------------------- reading


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 (BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GBK"
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), "UTF-8 (有无法识别的字节)"


def read_csv(path: Path) -> SourceTable:
    text, encoding = _decode(path.read_bytes())
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
    rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), dialect)]
    return SourceTable(path, None, [], rows, encoding)


def read_source(path: str | Path, sheet: str | None = None) -> SourceTable:
    """The sheet to import: the one named, else the first whose header we recognise."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"{path}: 文件不存在")
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        return read_csv(path)
    check_readable(path)
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
        if sheet is not None:
            if sheet not in names:
                raise ImportRefused(f"{path.name} 没有工作表「{sheet}」;有:{'、'.join(names)}")
            return SourceTable(path, sheet, names, wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False))
        first = None
        for name in names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            table = SourceTable(path, name, names, rows)
            if first is None:
                first = table
            if find_header(rows) is not None:
                return table
        return first or SourceTable(path, None, names, [])
    except (ImportRefused, WorkbookError):
        raise
    except Exception as exc:  # calamine's own parse errors
        raise WorkbookError(f"{path}: 无法读取工作簿({exc})") from exc


# ----------------------------------------------------------------------------- mapping

_ALIASES = {t: schema.import_aliases(t) for t in ("clients", "contacts")}
_LOOKUP = {schema.normalise_header(a): k for k, names in schema.IMPORT_LOOKUP_FIELDS.items() for a in names}
_ROW_NUMBERS = {schema.normalise_header(a) for a in schema.IMPORT_ROW_NUMBERS}
_EMPLOYEE = {schema.normalise_header(a) for a in schema.IMPORT_EMPLOYEE_HINTS}


def _match(header: str, aliases: dict[str, str]) -> str | None:
    norm = schema.normalise_header(header)
    if not norm:
        return None
    return aliases.get(norm) or aliases.get(_PAREN_TAIL.sub("", norm))


def _header_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def find_header(rows: list[list[Any]]) -> int | None:
    """The header row: the row among the first 30 naming the most known columns (at least 2)."""
    best, best_score = None, 1
    for i, row in enumerate(rows[:HEADER_SCAN]):
        keys = {_match(v, _ALIASES["clients"]) or _match(v, _ALIASES["contacts"])
                for v in row if isinstance(v, str)}
        score = len(keys - {None})
        if score > best_score:
            best, best_score = i, score
    return best


def _auto_keys(headers: list[str], target: str) -> list[str | None]:
    aliases = _ALIASES[target]
    keys: list[str | None] = []
    taken: set[str] = set()
    for h in headers:
        norm = schema.normalise_header(h)
        if not norm or norm in _ROW_NUMBERS:
            keys.append("")
            continue
        key = _match(h, aliases)
        if target == "contacts" and key is None:
            key = _LOOKUP.get(norm)
            key = f"lookup_{key}" if key else None
        if key in taken:
            key = None
        if key:
            taken.add(key)
        keys.append(key)
    return keys


def _field_of(name: str, target: str) -> str | None:
    if name.startswith("lookup_"):
        return name
    key = _match(name, {schema.normalise_header(a): c.key for c in schema.SHEET_BY_KEY[target].columns
                        for a in (c.zh, c.english, c.key)})
    if key is None and target == "contacts":
        found = _LOOKUP.get(schema.normalise_header(name))
        key = f"lookup_{found}" if found else None
    return key


def parse_maps(maps: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in maps:
        if "=" not in item:
            raise ImportRefused(f"--map '{item}' 应写成 源表列名=字段,例如 --map 联系电话=手机(字段留空表示忽略该列)")
        col, _, fld = item.partition("=")
        out[col.strip()] = fld.strip()
    return out


def make_plan(table: SourceTable, maps: dict[str, str] | None = None) -> Plan:
    maps = maps or {}
    header_at = find_header(table.rows)
    if header_at is None:
        if not maps:
            where = f"工作表「{table.sheet}」" if table.sheet else table.label
            raise ImportRefused(f"{where} 前 {HEADER_SCAN} 行里找不到表头(应有 姓名、手机、负责顾问 等列);"
                                f"用 --sheet 选择其他工作表,或用 --map 指定列")
        header_at = next((i for i, r in enumerate(table.rows) if any(_header_text(v) for v in r)), 0)
    headers = [_header_text(v) for v in table.rows[header_at]] if table.rows else []
    for col in maps:
        if col not in headers:
            raise ImportRefused(f"--map: 源表没有列「{col}」;表头是:{'、'.join(h for h in headers if h)}")
    plans = {}
    for target in ("clients", "contacts"):
        keys = _auto_keys(headers, target)
        ok = True
        for col, fld in maps.items():
            j = headers.index(col)
            if not fld:
                keys[j] = ""
                continue
            key = _field_of(fld, target)
            if key is None:
                ok = False
                continue
            keys = [None if k == key else k for k in keys]
            keys[j] = key
        plans[target] = (keys, ok)
    clients_keys, clients_ok = plans["clients"]
    contacts_keys, contacts_ok = plans["contacts"]
    contact_score = len(set(contacts_keys) & CONTACT_ONLY)
    client_only = {c.key for c in schema.CLIENTS.columns} - {"client_id", "name", "agent", "notes", "phone"}
    client_score = len(set(clients_keys) & client_only)
    if maps and not (clients_ok or contacts_ok):
        bad = [f for f in maps.values() if f and _field_of(f, "clients") is None and _field_of(f, "contacts") is None]
        raise ImportRefused(f"--map: 不认识字段「{'、'.join(bad)}」;客户表的字段有:"
                            f"{'、'.join(c.zh for c in schema.CLIENTS.columns)}")
    use_contacts = contacts_ok and (not clients_ok or ("date" in contacts_keys and contact_score > client_score))
    target = "contacts" if use_contacts else "clients"
    keys = contacts_keys if use_contacts else clients_keys
    plan = Plan(target, header_at, headers, list(keys))
    if target == "clients":
        norms = {schema.normalise_header(h) for h in headers}
        j = plan.column_of("name")
        if (j is not None and "agent" not in plan.mapped and norms & _EMPLOYEE
                and schema.normalise_header(headers[j]) == "姓名" and headers[j] not in maps):
            plan.keys[j] = "agent"
            plan.remarks.append(f"「{headers[j]}」旁边有岗位/工号列,是员工(顾问)的姓名,按 负责顾问 导入")
        if "name" not in plan.mapped and "company" in plan.mapped:
            plan.remarks.append(f"没有客户姓名列:以「{headers[plan.column_of('company')]}」作为 姓名")
    else:
        if "channel" not in plan.mapped:
            plan.remarks.append(f"没有联系方式列(方式):记为「{vocab.PHONE}」;可用 --map 列名=方式 指定")
        if not plan.mapped & {"client_id", "lookup_name", "lookup_phone"}:
            raise ImportRefused("这是跟进记录,但没有 客户编号、客户姓名 或 手机 列,无法对应到客户;用 --map 指定")
    return plan


# ----------------------------------------------------------------------------- values


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None if value is None else ("是" if value else "否")
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _name(value: Any) -> str | None:
    text = _text(value)
    return _CJK_GAP.sub("", text) if text else None


def _squash(text: str | None) -> str:
    return _SPACES.sub("", text or "").lower()


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return float(value)
    return float(str(value).strip().replace(",", "").replace("，", ""))


class _Row:
    """One source row being turned into a target row, collecting its findings."""

    def __init__(self, table: SourceTable, plan: Plan, raw: list[Any], excel_row: int):
        self.table, self.plan, self.raw, self.r = table, plan, raw, excel_row
        self.out: dict[str, Any] = {}
        self.extra: list[str] = []
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []

    def cell(self, key: str) -> str:
        j = self.plan.column_of(key)
        return f"{get_column_letter((j or 0) + 1)}{self.r}"

    def value(self, key: str) -> Any:
        j = self.plan.column_of(key)
        if j is None or j >= len(self.raw):
            return None
        v = self.raw[j]
        return None if v is None or (isinstance(v, str) and not v.strip()) else v

    def finding(self, key: str, message: str, severity: str, code: str) -> None:
        f = Finding(self.table.label, self.cell(key), message, severity, code, key)
        (self.errors if severity == "error" else self.warnings).append(f)

    def convert(self, sheet: schema.Sheet) -> None:
        for col in sheet.columns:
            raw = self.value(col.key)
            if raw is None:
                continue
            if col.key == "name":
                self.out["name"] = _name(raw)
            elif col.kind == "phone":
                phone = parse_phone(raw)
                self.out[col.key] = phone.text
                if not phone.recognised:
                    self.finding(col.key, f"{col.zh} '{_text(raw)}' 不像手机或固话号码,按原样导入", "warning", "phone-odd")
                if phone.others:
                    self.extra.append(f"其他电话: {' / '.join(phone.others)}")
            elif col.kind == "date":
                try:
                    self.out[col.key] = parse_date(raw)
                except (ValueError, OverflowError):
                    self.finding(col.key, f"{col.zh} '{raw}' 不是日期(可写 2024-03-05、2024/3/5、2024年3月5日)",
                                 "error", "date-invalid")
            elif col.kind == "monthday":
                try:
                    full, month, day = parse_month_day(raw)
                    self.out[col.key] = full if full is not None else f"{month:02d}-{day:02d}"
                except (ValueError, OverflowError):
                    self.finding(col.key, f"{col.zh} '{raw}' 不是日期(可写 1990-03-15 或 03-15)",
                                 "error", "date-invalid")
            elif col.kind in ("int", "float"):
                try:
                    number = _number(raw)
                    if number != number or number in (float("inf"), float("-inf")):
                        raise ValueError(raw)
                except (ValueError, TypeError):
                    self.finding(col.key, f"{col.zh} '{raw}' 不是数字", "error", "number-invalid")
                    continue
                if col.choices and _text(number) not in col.choices:
                    self.finding(col.key, f"{col.zh} '{raw}' 不在 {'/'.join(col.choices)} 内", "error",
                                 "number-out-of-range")
                    continue
                self.out[col.key] = int(number) if col.kind == "int" and number.is_integer() else number
            elif col.kind == "enum":
                self._enum(col, _text(raw) or "")
            else:
                self.out[col.key] = _text(raw)

    def _enum(self, col: schema.Column, text: str) -> None:
        low = text.lower()
        if text in col.choices:
            self.out[col.key] = text
            return
        if col.choices == vocab.GENDERS and low in _GENDER:
            self.out[col.key] = _GENDER[low]
            return
        if col.choices == vocab.YES_NO and low in _YES_NO:
            self.out[col.key] = _YES_NO[low]
            return
        hits = [c for c in col.choices if c in text]
        if len(hits) == 1:
            self.out[col.key] = hits[0]
            return
        self.finding(col.key, f"{col.zh} '{text}' 不在可选值({'/'.join(col.choices)})中,已写入备注",
                     "warning", "enum-invalid")
        self.extra.append(f"{col.zh}: {text}")

    def collect_unmapped(self) -> None:
        for j, key in enumerate(self.plan.keys):
            if key is None and j < len(self.raw):
                text = _text(self.raw[j])
                if text:
                    header = self.plan.headers[j] or get_column_letter(j + 1)
                    self.extra.append(f"{header}: {text}")

    def notes(self) -> str | None:
        parts = [p for p in [self.out.get("notes"), *self.extra] if p]
        if not parts:
            return None
        text = "; ".join(parts)
        return text if len(text) <= MAX_NOTE else text[:MAX_NOTE - 1] + "…"


# ----------------------------------------------------------------------------- checks


class _Index:
    """Where each mobile, name+单位 and id already is: in the master or earlier in the file."""

    def __init__(self) -> None:
        self.mobiles: dict[str, str] = {}
        self.people: dict[tuple[str, str], str] = {}
        self.ids: dict[str, str] = {}
        self.touches: dict[tuple, str] = {}
        self.by_name: dict[str, list[str]] = {}  # the master's clients, for a contact log
        self.by_mobile: dict[str, list[str]] = {}

    @classmethod
    def of_master(cls, book: Book, target: str = "clients") -> _Index:
        """The master's clients; for a contact log (`target` contacts) also its clients by
        name and mobile and its touches (a million rows: only when they are needed)."""
        index = cls()
        log = target == "contacts"
        clients, name = book.clients, book.sheet_name("clients")
        for r in clients[["client_id", "phone", "name", "company", "_row"]].to_dict("records"):
            at = int(r["_row"])
            if log and r.get("client_id"):
                index.by_name.setdefault(_squash(r.get("name")), []).append(str(r["client_id"]))
            if r.get("client_id"):
                index.ids.setdefault(str(r["client_id"]), f"{name}!{cell_of(book, 'clients', 'client_id', at)}")
            mobile = mobile_key(r.get("phone"))
            if log and mobile and r.get("client_id"):
                index.by_mobile.setdefault(mobile, []).append(str(r["client_id"]))
            if mobile:
                index.mobiles.setdefault(mobile, f"{name}!{cell_of(book, 'clients', 'phone', at)}")
            who, company = _squash(r.get("name")), _squash(r.get("company"))
            if who and not mobile and _squash(r.get("phone")):
                index.people.setdefault((who, "☎" + _squash(r.get("phone"))),
                                        f"{name}!{cell_of(book, 'clients', 'phone', at)}")
            if who and company:
                index.people.setdefault((who, company), f"{name}!{cell_of(book, 'clients', 'name', at)}")
        if log:
            index.touches = _master_touches(book)
        return index


def _master_touches(book: Book) -> dict[tuple, str]:
    """(client, time to the second, squashed notes) of each touch in the master (and its
    archive) -> where it is (the first such row). Built a column at a time: a loop over a
    million touches took 5 s (`_stamp` per row, 20 s)."""
    import numpy as np
    import pandas as pd

    contacts, cname = book.contacts, book.sheet_name("contacts")
    archived = cname
    if book.path is not None:  # rows read from the archive beside the master have row 0
        from .archive import archive_path

        archived = f"[{archive_path(Path(book.path)).name}]{cname}"
    when = pd.to_datetime(contacts["date"], errors="coerce")
    stamps = when.dt.round("s").dt.strftime(_STAMP).to_numpy(dtype=object, na_value=None)
    cids = contacts["client_id"].to_numpy(dtype=object, na_value=None)
    keep = np.fromiter((isinstance(c, str) for c in cids), dtype=bool, count=len(cids)) & (stamps != None)  # noqa: E711
    codes, notes = pd.factorize(contacts["notes"].to_numpy(dtype=object, na_value=None)[keep])
    squashed = np.array([_squash(n if isinstance(n, str) else None) for n in notes] + [""], dtype=object)[codes]
    letter = cell_of(book, "contacts", "date", 0)[:-1]
    places = [archived if at == 0 else f"{cname}!{letter}{at}" for at in contacts["_row"].to_numpy()[keep].astype(np.int64).tolist()]
    touches: dict[tuple, str] = {}
    first = touches.setdefault  # of equal keys, the first row's place is the one kept
    for key, place in zip(zip(cids[keep].tolist(), stamps[keep].tolist(), squashed.tolist(), strict=True), places,
                          strict=True):
        first(key, place)
    return touches


_STAMP = "%Y-%m-%d %H:%M:%S"  # a touch's time, in the master's index and for an imported row alike
_SECOND = timedelta(seconds=1)


def _stamp(value: Any) -> str:
    """A touch's time to the second (a serial read back may be a few microseconds off),
    rounded as pandas rounds the master's (half to even)."""
    if type(value) is datetime and value.tzinfo is None and 1678 <= value.year <= 2261:  # 1 µs, not 37
        micro = value.microsecond
        if micro > 500_000 or (micro == 500_000 and value.second % 2):
            value += _SECOND
        return value.strftime(_STAMP)
    import pandas as pd

    try:
        return pd.Timestamp(value).round("s").strftime(_STAMP)
    except (ValueError, TypeError):
        return str(value)


def _id_maker(book: Book, taken: set[str]):
    counts: Counter[str] = Counter()
    widths: dict[str, int] = {}
    highest: dict[str, int] = {}
    for cid in book.clients["client_id"].dropna():
        m = _ID.match(str(cid))
        if m:
            counts[m[1]] += 1
            widths[m[1]] = max(widths.get(m[1], 0), len(m[2]))
            highest[m[1]] = max(highest.get(m[1], 0), int(m[2]))
    prefix = counts.most_common(1)[0][0] if counts else "K"
    width = widths.get(prefix, 6)
    number = highest.get(prefix, 0)

    def next_id() -> str:
        nonlocal number
        while True:
            number += 1
            cid = f"{prefix}{number:0{width}d}"
            if cid not in taken:
                taken.add(cid)
                return cid

    return next_id


def _agent_matcher(book: Book):
    known = [a for a in book.agents["agent"].dropna().astype(str)]
    exact = {a.strip(): a for a in known}
    loose = {_squash(a): a for a in known}

    def match(name: str) -> str | None:
        return exact.get(name.strip()) or loose.get(_squash(name))

    return match


# ----------------------------------------------------------------------------- the import


def plan_import(master: str | Path, source: str | Path, sheet: str | None = None,
                maps: Sequence[str] = (), agents: Sequence[str] = (), add_agents: bool = False) -> ImportResult:
    """Read, map and check everything; write nothing. Raises ImportRefused / WorkbookError."""
    master = Path(master)
    table = read_source(source, sheet)
    plan = make_plan(table, parse_maps(maps))
    # A client list is checked against 客户 and 顾问 only; a contact log against 跟进记录 too.
    book, load_findings = load(master, only=("clients", "agents", plan.target))
    fatal = [f for f in load_findings if f.severity == "fatal"]
    if fatal:
        raise ImportRefused(f"{master} 不是完整的 xlcrm 工作簿:{fatal[0]};先用 xlcrm validate 检查")
    match_agent = _agent_matcher(book)
    new_agents: list[str] = []
    assign: list[str] = []
    for name in agents:
        found = match_agent(name)
        if found is None and not add_agents:
            raise ImportRefused(f"--agent '{name}' 不在「{book.sheet_name('agents')}」表中;先在顾问表添加,"
                                f"或加 --add-agents")
        if found is None:
            found = name.strip()
            new_agents.append(found)
        assign.append(found)
    if plan.target == "clients" and "agent" not in plan.mapped and not assign:
        raise ImportRefused(f"源表没有「{schema.CLIENTS.column('agent').zh}」列(置业顾问、业务员、客户经理…);"
                            f"用 --agent 张伟 指定负责顾问(可重复,轮流分配),或用 --map 源表列名=负责顾问")
    index = _Index.of_master(book, plan.target)
    rows, findings = [], []
    skipped = duplicates = 0
    robin = cycle(assign) if assign else None
    data = table.rows[plan.header_at + 1:]
    if plan.target == "clients":
        next_id = _id_maker(book, set(index.ids))
    for i, raw in enumerate(data):
        if not any(_text(v) for v in raw):
            continue
        row = _Row(table, plan, raw, plan.header_at + 2 + i)
        sheet_def = schema.SHEET_BY_KEY[plan.target]
        row.convert(sheet_def)
        row.collect_unmapped()
        if plan.target == "clients":
            ok = _client_row(row, index, match_agent, robin, add_agents, new_agents, book)
        else:
            ok = _contact_row(row, index, match_agent, robin, book)
        findings.extend(row.errors + row.warnings)
        if ok is None:
            duplicates += 1
            continue
        if not ok or row.errors:
            skipped += 1
            continue
        row.out["notes"] = row.notes()
        if plan.target == "clients" and not row.out.get("client_id"):
            row.out["client_id"] = next_id()
        rows.append(row.out)
    return ImportResult(master, table, plan, rows, _fold_unknown_agents(findings), skipped, duplicates,
                        new_agents)


def _fold_unknown_agents(findings: list[Finding]) -> list[Finding]:
    """One line per unknown agent (at its first row, with the count), not one per row."""
    counts = Counter(f.message for f in findings if f.code == "agent-unknown")
    seen: set[str] = set()
    out = []
    for f in findings:
        if f.code == "agent-unknown":
            if f.message in seen:
                continue
            seen.add(f.message)
            if counts[f.message] > 1:
                f = Finding(f.sheet, f.cell, f.message.replace(",未导入", f",共 {counts[f.message]} 行未导入"),
                            f.severity, f.code, f.field)
        out.append(f)
    return out


def _client_row(row: _Row, index: _Index, match_agent, robin, add_agents: bool, new_agents: list[str],
                book: Book) -> bool | None:
    """True: import; False: bad row; None: a duplicate."""
    out = row.out
    if not out.get("name") and out.get("company"):
        out["name"] = out["company"]
    if not out.get("name"):
        at = "name" if row.plan.column_of("name") is not None else "company"
        row.finding(at, "姓名为空,未导入", "error", "required-missing")
        return False
    if not out.get("gender"):
        for word, gender in (("先生", "男"), ("女士", "女"), ("小姐", "女")):
            if out["name"].endswith(word):
                out["gender"] = gender
    agent = _text(out.get("agent"))
    if not agent and robin is not None:
        agent = next(robin)
    if not agent:
        row.finding("agent", f"{schema.CLIENTS.column('agent').zh}为空,未导入(可用 --agent 指定)", "error",
                    "required-missing")
        return False
    found = match_agent(agent)
    if found is None and agent in new_agents:
        found = agent
    if found is None:
        if not add_agents:
            row.finding("agent", f"{schema.CLIENTS.column('agent').zh} '{agent}' 不在「{book.sheet_name('agents')}」"
                        f"表中,未导入(加 --add-agents 自动添加)", "error", "agent-unknown")
            return False
        found = agent
        new_agents.append(agent)
    out["agent"] = found
    if row.errors:
        return False
    here = f"{row.table.label}!"
    cid = _text(out.get("client_id"))
    if cid:
        out["client_id"] = cid
        if cid in index.ids:
            row.finding("client_id", f"客户编号 {cid} 与 {index.ids[cid]} 重复,未导入", "warning", "duplicate")
            return None
    mobile = mobile_key(out.get("phone"))
    if mobile and mobile in index.mobiles:
        row.finding("phone", f"手机 {mobile} 与 {index.mobiles[mobile]} 重复,未导入", "warning", "duplicate")
        return None
    phone_text = _squash(out.get("phone"))
    same_line = (_squash(out["name"]), "☎" + phone_text)
    if not mobile and phone_text and same_line in index.people:
        row.finding("phone", f"姓名+电话「{out['name']} / {out['phone']}」与 {index.people[same_line]} 重复,未导入",
                    "warning", "duplicate")
        return None
    person = (_squash(out["name"]), _squash(out.get("company")))
    if person[1] and person in index.people:
        key = "name" if row.plan.column_of("name") is not None else "company"
        who = out["name"] if person[0] == person[1] else f"{out['name']} / {out['company']}"
        row.finding(key, f"姓名+单位「{who}」与 {index.people[person]} 重复,未导入", "warning", "duplicate")
        return None
    if cid:
        index.ids[cid] = here + row.cell("client_id")
    if mobile:
        index.mobiles[mobile] = here + row.cell("phone")
    if not mobile and phone_text:
        index.people[same_line] = here + row.cell("phone")
    if person[1]:
        index.people[person] = here + row.cell("name" if row.plan.column_of("name") is not None else "company")
    return True


def _contact_row(row: _Row, index: _Index, match_agent, robin, book: Book) -> bool | None:
    out = row.out
    cid = _text(row.value("client_id"))
    where = "client_id"
    if cid is None and row.plan.column_of("lookup_phone") is not None:
        mobile = mobile_key(row.value("lookup_phone"))
        hits = index.by_mobile.get(mobile, []) if mobile else []
        where = "lookup_phone"
        cid = hits[0] if len(set(hits)) == 1 else None
    if cid is None and row.plan.column_of("lookup_name") is not None:
        name = _name(row.value("lookup_name"))
        where = "lookup_name"
        hits = index.by_name.get(_squash(name), []) if name else []
        if len(hits) > 1:
            row.finding(where, f"客户 '{name}' 在「{book.sheet_name('clients')}」表中有 {len(hits)} 位同名,"
                        f"无法确定是谁,未导入(请加 客户编号 列)", "error", "client-ambiguous")
            return False
        cid = hits[0] if len(hits) == 1 else None
    if cid is None or cid not in index.ids:
        shown = _text(row.value(where)) or ""
        row.finding(where, f"客户 '{shown}' 在「{book.sheet_name('clients')}」表中找不到,未导入(先导入客户名单)",
                    "error", "client-unknown")
        return False
    out["client_id"] = cid
    if out.get("date") is None:
        if not any(f.field == "date" for f in row.errors):
            row.finding("date", "日期为空,未导入", "error", "required-missing")
        return False
    if not out.get("channel"):
        out["channel"] = vocab.PHONE
    agent = _text(out.get("agent")) or (next(robin) if robin is not None else None)
    if agent:
        out["agent"] = match_agent(agent) or agent
    if row.errors:
        return False
    key = (cid, _stamp(out["date"]), _squash(row.notes()))
    if key in index.touches:
        row.finding("date", f"这条跟进与 {index.touches[key]} 重复,未导入", "warning", "duplicate")
        return None
    index.touches[key] = f"{row.table.label}!{row.cell('date')}"
    return True


def write_import(result: ImportResult) -> Path | None:
    """Append the checked rows (and new agents) to the master; returns the backup's path."""
    from .append import append_tables

    contents: dict[str, list[dict[str, Any]]] = {}
    if result.new_agents:
        contents["agents"] = [{"agent": a, "active": vocab.YES} for a in result.new_agents]
    if result.rows:
        contents[result.plan.target] = result.rows
    if not contents:
        return None
    result.backup = append_tables(result.master, contents)
    return result.backup
