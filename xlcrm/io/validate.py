"""Checks over a loaded Book; each returns findings and none raises.

`validate(book)` runs `CHECKS`, one small function per idea (beancount's
ops/validation.py), so one bad row never hides the next fifty. The loader has
already reported missing sheets and columns, bad dates and values outside their
vocabulary; these checks are about rows and references between sheets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from ..core import vocab
from ..core.frames import client_table, lookup
from ..core.handover import awaiting_handover, current_agents
from ..core.records import Book, Finding
from ..core.tasks.activities import target_classes
from ..core.vocab import MAKEUP_WORKDAY
from . import schema
from .loader import cell_of
from .phones import mobile_keys


def _blank(series: pd.Series) -> pd.Series:
    return series.isna()


def check_required(book: Book) -> list[Finding]:
    out: list[Finding] = []
    for sheet in schema.USER_SHEETS:
        if sheet.key not in book.letters:
            continue
        frame = book.frames[sheet.key]
        for col in sheet.columns:
            if not col.required or col.key not in book.letters[sheet.key]:
                continue
            for row in frame.loc[_blank(frame[col.key]), "_row"]:
                if row <= 0 or (sheet.key, cell_of(book, sheet.key, col.key, row)) in book.bad_cells:
                    continue  # archived (row 0), or the loader already said why this value is unusable
                out.append(Finding(book.sheet_name(sheet.key), cell_of(book, sheet.key, col.key, row),
                                   f"必填项「{col.zh}」为空", "error", "required-missing", col.key))
    return out


def check_duplicate_ids(book: Book) -> list[Finding]:
    out: list[Finding] = []
    for key, col in (("clients", "client_id"), ("referrals", "referral_id"), ("agents", "agent"),
                     ("activities", "activity_id")):
        frame = book.frames[key]
        if frame.empty:
            continue
        ids = frame[col]
        dup = ids.notna() & ids.duplicated(keep="first")
        first_row = frame.loc[ids.notna()].drop_duplicates(col).set_index(col)["_row"]
        for value, row in zip(ids[dup], frame.loc[dup, "_row"], strict=True):
            out.append(Finding(book.sheet_name(key), cell_of(book, key, col, row),
                               f"{schema.SHEET_BY_KEY[key].column(col).zh} '{value}' 重复"
                               f"(第 {first_row[value]} 行已有)", "error", "duplicate-id", col))
    return out


def check_agents(book: Book) -> list[Finding]:
    if "clients" not in book.letters or "agents" not in book.letters:
        return []
    clients = book.clients
    known = set(book.agents["agent"].dropna())
    bad = clients["agent"].notna() & ~clients["agent"].isin(known)
    return [Finding(book.sheet_name("clients"), cell_of(book, "clients", "agent", row),
                    f"{schema.CLIENTS.column('agent').zh} '{agent}' 不在「{book.sheet_name('agents')}」表中",
                    "error", "agent-unknown", "agent")
            for agent, row in zip(clients.loc[bad, "agent"], clients.loc[bad, "_row"], strict=True)]


def check_client_refs(book: Book) -> list[Finding]:
    if "clients" not in book.letters:
        return []
    known = set(book.clients["client_id"].dropna())
    out: list[Finding] = []
    for key, col in (("contacts", "client_id"), ("key_dates", "client_id"),
                     ("referrals", "referrer_id"), ("referrals", "referred_client_id"), ("key_persons", "client_id")):
        frame = book.frames[key]
        if frame.empty:
            continue
        bad = frame[col].notna() & ~frame[col].isin(known) & (frame["_row"] > 0)  # archived: history
        label = schema.SHEET_BY_KEY[key].column(col).zh
        for value, row in zip(frame.loc[bad, col], frame.loc[bad, "_row"], strict=True):
            out.append(Finding(book.sheet_name(key), cell_of(book, key, col, row),
                               f"{label} '{value}' 在「{book.sheet_name('clients')}」表中不存在", "error",
                               "client-unknown", col))
    return out


def check_self_referral(book: Book) -> list[Finding]:
    refs = book.referrals
    if refs.empty:
        return []
    same_id = refs["referrer_id"].notna() & (refs["referrer_id"] == refs["referred_client_id"])
    phones = book.clients.set_index("client_id")["phone"]
    phones = phones[~phones.index.duplicated()]
    referrer_phone = lookup(refs["referrer_id"], phones)
    same_phone = refs["referred_phone"].notna() & (refs["referred_phone"] == referrer_phone)
    bad = same_id | same_phone
    return [Finding(book.sheet_name("referrals"), cell_of(book, "referrals", "referrer_id", row),
                    f"推荐人 '{who}' 推荐了自己", "error", "self-referral", "referrer_id")
            for who, row in zip(refs.loc[bad, "referrer_id"], refs.loc[bad, "_row"], strict=True)]


def check_duplicate_mobiles(book: Book) -> list[Finding]:
    """The same mobile on two clients is usually one person registered twice (a warning)."""
    if "clients" not in book.letters or "phone" not in book.letters["clients"]:
        return []
    clients = book.clients
    mobiles = pd.Series(mobile_keys(clients["phone"]), index=clients.index, dtype=object)
    known = mobiles.notna()
    again = known & mobiles.duplicated(keep="first")
    if not again.any():
        return []
    first_row = clients.loc[known, "_row"].groupby(mobiles[known]).transform("first")
    return [Finding(book.sheet_name("clients"), cell_of(book, "clients", "phone", row),
                    f"手机 {mobile} 重复(与 {cell_of(book, 'clients', 'phone', first)} 相同)",
                    "warning", "duplicate-phone", "phone")
            for mobile, row, first in zip(mobiles[again], clients.loc[again, "_row"], first_row[again], strict=True)]


def check_key_persons(book: Book) -> list[Finding]:
    """关键人: one person once per account; an A/D needs a 态度 (or nobody knows whether to
    win them over); a 跟进记录 关键人 should name a key person of that account."""
    kp = book.key_persons
    out: list[Finding] = []
    if kp.empty:
        return out
    sheet = book.sheet_name("key_persons")
    named = kp[kp["client_id"].notna() & kp["name"].notna()]
    dup = named.duplicated(["client_id", "name"], keep="first")
    for cid, name, row in zip(named.loc[dup, "client_id"], named.loc[dup, "name"], named.loc[dup, "_row"],
                              strict=True):
        out.append(Finding(sheet, cell_of(book, "key_persons", "name", row),
                           f"客户 '{cid}' 的关键人 '{name}' 重复登记,只用第一行", "warning", "duplicate-key-person",
                           "name"))
    blank = named["role"].isin(vocab.KP_DECISION_ROLES) & named["attitude"].isna()
    for name, row in zip(named.loc[blank, "name"], named.loc[blank, "_row"], strict=True):
        out.append(Finding(sheet, cell_of(book, "key_persons", "attitude", row),
                           f"关键人 '{name}' 是A/D角色但没有填态度,无法判断是否需要争取", "warning",
                           "attitude-missing", "attitude"))
    c = book.contacts
    if "key_person" in book.letters.get("contacts", {}) and not c.empty:
        known = set(zip(named["client_id"], named["name"], strict=True))
        c = c[c["key_person"].notna()]
        for cid, name, row in zip(c["client_id"].astype(object), c["key_person"], c["_row"], strict=True):
            if (cid, name) not in known:
                out.append(Finding(book.sheet_name("contacts"), cell_of(book, "contacts", "key_person", row),
                                   f"关键人 '{name}' 不是客户 '{cid}' 在「{sheet}」表中的关键人", "warning",
                                   "key-person-unknown", "key_person"))
    return out


def check_activities(book: Book) -> list[Finding]:
    acts = book.activities
    out: list[Finding] = []
    for text, row in zip(acts["classes"], acts["_row"], strict=True):
        if target_classes(text) is None:
            out.append(Finding(book.sheet_name("activities"), cell_of(book, "activities", "classes", row),
                               f"对象类别 '{text}' 应为 A/B/C/D,如 A,B(留空为全部客户);这个活动不发邀请",
                               "error", "classes-invalid", "classes"))
    return out


def check_handovers(book: Book) -> list[Finding]:
    """交接 rows name known agents and clients; clients of a departed agent need a handover."""
    out: list[Finding] = []
    if "clients" not in book.letters or "agents" not in book.letters:
        return out
    known = set(book.agents["agent"].dropna())
    ids = set(book.clients["client_id"].dropna())
    handovers = book.frames.get("handovers")
    name = book.sheet_name("handovers")
    if handovers is not None and not handovers.empty:
        for col in ("from_agent", "to_agent"):
            bad = handovers[col].notna() & ~handovers[col].isin(known)
            for who, row in zip(handovers.loc[bad, col], handovers.loc[bad, "_row"], strict=True):
                out.append(Finding(name, cell_of(book, "handovers", col, row),
                                   f"{schema.HANDOVERS.column(col).zh} '{who}' 不在「{book.sheet_name('agents')}」表中",
                                   "error", "agent-unknown", col))
        bad = handovers["client_id"].notna() & ~handovers["client_id"].isin(ids)
        for cid, row in zip(handovers.loc[bad, "client_id"], handovers.loc[bad, "_row"], strict=True):
            out.append(Finding(name, cell_of(book, "handovers", "client_id", row),
                               f"客户编号 '{cid}' 在「{book.sheet_name('clients')}」表中不存在", "error",
                               "client-unknown", "client_id"))
    clients = client_table(book.clients)
    agent, _original = current_agents(clients, handovers)  # every row, also planned ones
    waiting = awaiting_handover(clients.assign(agent=agent), book.agents)
    # One finding per departed agent (at the first such client), not one per client:
    # a refresh would otherwise print hundreds of lines for one person who left.
    for who, group in clients[waiting].groupby(agent[waiting], sort=True):
        ids = list(group.index)
        more = f" 等 {len(ids)} 位" if len(ids) > 3 else ""
        out.append(Finding(book.sheet_name("clients"), cell_of(book, "clients", "agent", int(group["_row"].iloc[0])),
                           f"顾问 '{who}' 已离职(在职=否),名下客户 {'、'.join(ids[:3])}{more} 还没有交接:"
                           f"请在「{name}」表登记新顾问", "warning", "handover-missing", "agent"))
    return out


def check_holiday_days(book: Book) -> list[Finding]:
    """节假日: one type per date, and 调休上班 only on a weekend (it makes a Saturday or
    Sunday a working day; on a weekday it is almost always a typed-in wrong date)."""
    days = book.frames.get("holidays")
    if days is None or days.empty:
        return []
    name = book.sheet_name("holidays")
    out: list[Finding] = []
    seen: dict[pd.Timestamp, tuple[str, int]] = {}
    for when, kind, row in zip(days["date"], days["type"], days["_row"], strict=True):
        if pd.isna(when) or pd.isna(kind):
            continue
        when = pd.Timestamp(when).normalize()
        if when in seen and seen[when][0] != kind:
            out.append(Finding(name, cell_of(book, "holidays", "type", row),
                               f"{when:%Y-%m-%d} 同时登记为「{seen[when][0]}」"
                               f"({cell_of(book, 'holidays', 'type', seen[when][1])})和「{kind}」:以后一行为准",
                               "warning", "holiday-conflict", "type"))
        seen[when] = (kind, row)
        if kind == MAKEUP_WORKDAY and when.weekday() < 5:
            out.append(Finding(name, cell_of(book, "holidays", "date", row),
                               f"{when:%Y-%m-%d} 是工作日,「{MAKEUP_WORKDAY}」一般是周六或周日:请核对日期",
                               "warning", "holiday-weekday-workday", "date"))
    return out


def check_row_limit(book: Book) -> list[Finding]:
    """跟进记录 near Excel's row limit: from 90%, name `xlcrm archive`."""
    from .archive import WARN_SHARE
    from .package import EXCEL_ROWS

    contacts = book.contacts
    if "contacts" not in book.letters or contacts.empty:
        return []
    last = int(contacts["_row"].max())
    if last < WARN_SHARE * EXCEL_ROWS:
        return []
    return [Finding(book.sheet_name("contacts"), "", f"已用到第 {last:,} 行,Excel 每表最多 {EXCEL_ROWS:,} 行"
                    f"({last / EXCEL_ROWS:.0%});请用 xlcrm archive 把较早的记录移到归档工作簿",
                    "warning", "rows-near-limit")]


CHECKS: tuple[Callable[[Book], list[Finding]], ...] = (
    check_required, check_row_limit, check_duplicate_ids, check_agents, check_client_refs, check_self_referral,
    check_duplicate_mobiles,
    check_handovers, check_holiday_days,
    check_key_persons, check_activities,
)


def validate(book: Book) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(book))
    return findings


def leave_out_bad_rows(book: Book) -> tuple[Book, int]:
    """The book without rows that lack a required value (a client without 姓名 …).

    `check_required` reports each of them; leaving them out keeps one bad row from
    breaking the refresh or the weekly run of the whole office. Returns the book and
    how many rows were left out (the summary line says so).
    """
    frames = dict(book.frames)
    dropped = 0
    for sheet in schema.USER_SHEETS:
        if sheet.key in ("rules", "templates") or sheet.key not in book.letters:
            continue
        frame = frames[sheet.key]
        required = [c.key for c in sheet.columns if c.required and c.key in frame]
        if not required or frame.empty:
            continue
        bad = frame[required].isna().any(axis=1)
        if sheet.key == "clients":  # a 姓名 of spaces or of the wrong type is no name
            bad |= ~frame["name"].map(lambda v: isinstance(v, str) and bool(v.strip()))
        if sheet.key == "activities":  # a 对象类别 that is not A-D would invite the wrong clients
            bad |= frame["classes"].map(lambda t: target_classes(t) is None)
        if bad.any():
            dropped += int(bad.sum())
            frames[sheet.key] = frame.loc[~bad].reset_index(drop=True)
    return replace(book, frames=frames), dropped


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity in ("error", "fatal")]


def fatal(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "fatal"]
