"""The daily loop (DOMAIN: The daily loop): ticked task rows become 跟进记录 rows.

A task row of 我的任务 (or of a weekly workbook's 本周计划 / 短信草稿) that an agent
marked 完成=是, or gave a 结果, is one touch: 客户编号, 日期, 顾问, 方式 (the task's
channel), 事由 (the task kind's `logs_as`), 结果 (default 已接通 for a call or visit,
已发送 for an SMS or WeChat), 承诺反馈日期, 下次跟进日期, 备注 and 任务编号.

The 任务编号 is `<kind>-<12 hex>`, a hash of client, kind, due date and the task's
`ref` when it has one (the key person's name of 争取关键人/关键人生日, the 活动编号 of
活动邀请: two key persons of one account, or two activities, are two tasks); a task
without a ref hashes as before. The same task gets the same number on every refresh,
so a number already in 跟进记录 is never logged twice, and the kind can be read back
from it. A ticked task about a key person logs who in 跟进记录's 关键人 column (the
rules read it back: 争取关键人 counts from the last reached touch with that person);
a 跟进记录 without that column gets `关键人: 姓名` in 备注 instead (`fold_key_person`).
A task tried without reaching the client (未接通/拒接/空号) comes back with the attempt in its number (`…-2`), so
the next try can be logged too.

Pure: rows in, rows out; `today` is a parameter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import vocab

# The 跟进记录 fields a touch fills, in the order of the schema's columns.
TOUCH_KEYS = ("client_id", "date", "agent", "channel", "purpose", "outcome", "promised_date", "next_follow_up",
              "notes", "key_person", "task_id")
KEY_PERSON_NOTE = "关键人: "  # 备注 prefix naming the key person when 跟进记录 has no 关键人 column
ATTEMPT_SEP = "-"
# A planner-merged row (one call for two reasons) stands for several tasks; its 任务编号
# lists each task's number, the top task first: 承诺反馈-4bf37232aaae+维护电话-0c2d2e9b1f3a.
# Logging it closes every one of them.
JOIN_SEP = "+"


def _key(client_id: object, kind: str, day: str, ref: object) -> bytes:
    ref = str(ref).strip() if isinstance(ref, str) else ""
    return (f"{client_id}|{kind}|{day}|{ref}" if ref else f"{client_id}|{kind}|{day}").encode()


def task_id(client_id: object, kind: str, due: object, ref: object = None) -> str:
    """`维护电话-3f2a9c1b0d4e`: stable for the same client, kind, due date and ref."""
    day = pd.Timestamp(due).strftime("%Y-%m-%d") if due is not None and not pd.isna(due) else ""
    digest = hashlib.blake2b(_key(client_id, kind, day, ref), digest_size=6).hexdigest()
    return f"{kind}{ATTEMPT_SEP}{digest}"


def task_ids(client_ids: pd.Series, kinds: pd.Series, dues: pd.Series, refs: pd.Series | None = None) -> np.ndarray:
    """task_id for each row (by position); `refs` (key person, 活动编号) tells apart tasks
    of one kind for one client and day."""
    due = pd.to_datetime(pd.Series(dues.to_numpy())).dt.normalize()
    distinct = due.dropna().drop_duplicates()
    days = due.map(dict(zip(distinct, distinct.dt.strftime("%Y-%m-%d"), strict=True))).fillna("").to_numpy()
    ref = refs.to_numpy() if refs is not None else np.full(len(days), None, dtype=object)
    blake = hashlib.blake2b
    return np.array([f"{kind}{ATTEMPT_SEP}" + blake(_key(cid, kind, day, r), digest_size=6).hexdigest()
                     for cid, kind, day, r in zip(client_ids.to_numpy(), kinds.to_numpy(), days, ref, strict=True)],
                    dtype=object)


def _refs(tasks: pd.DataFrame) -> pd.Series | None:
    return tasks["ref"] if "ref" in tasks else None


def split_ids(tid: object) -> list[str]:
    """The task numbers a 任务编号 cell stands for (one, or several for a merged row)."""
    return [part.strip() for part in str(tid).split(JOIN_SEP) if part.strip()]


def _exploded(c: pd.DataFrame) -> pd.DataFrame:
    """跟进记录 rows with a 任务编号, one row per task number it names."""
    c = c.assign(task_id=c["task_id"].astype(str).map(split_ids)).explode("task_id")
    return c[c["task_id"].notna()]


def base_id(tid: str) -> str:
    """The task's number without the attempt suffix."""
    parts = str(tid).split(ATTEMPT_SEP)
    return ATTEMPT_SEP.join(parts[:2])


def kind_of(tid: object) -> vocab.TaskKind | None:
    """The task kind a 任务编号 was made for, or None for a number typed by hand."""
    if not isinstance(tid, str):
        return None
    return vocab.KIND.get(tid.split(ATTEMPT_SEP, 1)[0])


def default_outcome(channel: object) -> str:
    return vocab.SENT if channel in vocab.SMS_CHANNELS or channel in vocab.ONE_WAY else (
        vocab.VISITED if channel == vocab.VISIT else vocab.CONNECTED)


def ticked(rows: pd.DataFrame) -> pd.Series:
    """Rows an agent marked: 完成=是, or any 结果."""
    done = rows["done"] == vocab.YES if "done" in rows else pd.Series(False, index=rows.index)
    outcome = rows["outcome"].notna() if "outcome" in rows else pd.Series(False, index=rows.index)
    return done | outcome


def logged_attempts(contacts: pd.DataFrame) -> tuple[set[str], dict[str, int]]:
    """From 跟进记录: task numbers that closed their task, and failed tries per open number."""
    if "task_id" not in contacts:
        return set(), {}
    c = contacts[contacts["task_id"].notna()]
    if c.empty:
        return set(), {}
    c = _exploded(c)
    base = c["task_id"].astype(str).map(base_id)
    failed = c["outcome"].isin(vocab.NOT_REACHED).to_numpy()
    closed = set(base[~failed])
    tries = base[failed].value_counts()
    return closed, {k: int(v) for k, v in tries.items() if k not in closed}


@dataclass
class Logged:
    """What one batch of ticked rows became."""

    touches: pd.DataFrame  # TOUCH_KEYS columns, one row per new 跟进记录 row
    already: int = 0  # ticked rows whose 任务编号 was already in 跟进记录
    # (source row, why, sheet: the row's `_sheet` when the rows came from several sheets)
    skipped: list[tuple[int, str, str | None]] = field(default_factory=list)


def _filled(value) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(pd.notna(value))


def typed_not_ticked(rows: pd.DataFrame, keys: Sequence[str]) -> list[tuple[int, list[str], str | None]]:
    """Rows where the agent typed into one of `keys` (a date, a note) but gave neither
    完成=是 nor a 结果: only those two make a touch, so nothing is logged for them and the
    agent must be told (in 我的任务 the row is rewritten by the refresh).
    Each as (source row, the keys typed, the row's `_sheet` or None)."""
    cols = [k for k in keys if k in rows] if len(rows) else []
    if not cols:
        return []
    typed = pd.DataFrame({k: [_filled(v) for v in rows[k]] for k in cols}, index=rows.index)
    return [(int(rows.at[i, "_row"] or 0) if "_row" in rows else 0, [k for k in cols if typed.at[i, k]],
             rows.at[i, "_sheet"] if "_sheet" in rows else None)
            for i in rows.index[(typed.any(axis=1) & ~ticked(rows)).to_numpy()]]


def touches_from_tasks(rows: pd.DataFrame, today: date, agent: str | None, logged: set[str],
                       known_clients: set[str] | None = None) -> Logged:
    """The 跟进记录 rows for the ticked task rows of `rows`.

    `rows` has the loop columns (done, outcome, done_date, promised_date,
    next_follow_up, notes, task_id) plus client_id, channel, `planned` (the day the
    task was planned for) and `_row` (where the row sits, for messages); optional
    `kind`, `agent` and `name` (a key-person task's 姓名 is the key person). A row's 日期 is its 完成日期, else its planned day if not after
    today, else today. `logged` holds every 任务编号 already in 跟进记录.
    """
    today_ts = pd.Timestamp(today)
    out: list[dict] = []
    skipped: list[tuple[int, str]] = []
    already = 0
    seen = set(logged)
    mark = rows[ticked(rows)] if len(rows) else rows
    for r in mark.to_dict("records"):
        where = int(r.get("_row") or 0)
        sheet = r.get("_sheet")
        cid = r.get("client_id")
        tid = r.get("task_id")
        if not isinstance(cid, str) or not cid or cid == vocab.FOREIGN:
            skipped.append((where, "没有客户编号,无法记录", sheet))
            continue
        if known_clients is not None and cid not in known_clients:
            skipped.append((where, f"客户编号 '{cid}' 不在客户表中(被推荐人请先登记为客户),未记录", sheet))
            continue
        if not isinstance(tid, str) or not tid:
            kind_name = r.get("kind") if isinstance(r.get("kind"), str) else r.get("task")
            ref = r.get("name") if kind_name in vocab.KEY_PERSON_KINDS else None
            tid = task_id(cid, str(kind_name or ""), r.get("planned"), ref)
        if tid in seen:
            already += 1
            continue
        seen.add(tid)
        kind = kind_of(tid) or vocab.KIND.get(str(r.get("kind") or ""))
        channel = r.get("channel") if r.get("channel") in vocab.CHANNELS else (
            vocab.SMS if kind is not None and kind.family in ("immediate_sms", "care_sms") else vocab.PHONE)
        when = _day(r.get("done_date"))
        if when is None:
            planned = _day(r.get("planned"))
            when = planned if planned is not None and planned <= today_ts else today_ts
        out.append({
            "client_id": cid,
            "date": when.to_pydatetime(),
            "agent": r.get("agent") if isinstance(r.get("agent"), str) else agent,
            "channel": channel,
            "purpose": kind.logs_as if kind is not None else vocab.ROUTINE,
            "outcome": r.get("outcome") if isinstance(r.get("outcome"), str) else default_outcome(channel),
            "promised_date": _plain(r.get("promised_date")),
            "next_follow_up": _plain(r.get("next_follow_up")),
            "notes": r.get("notes") if isinstance(r.get("notes"), str) else None,
            "key_person": _key_person(kind, r),
            "task_id": tid,
        })
    frame = pd.DataFrame(out, columns=list(TOUCH_KEYS))
    return Logged(frame, already, skipped)


def _key_person(kind: vocab.TaskKind | None, row: dict) -> str | None:
    """The key person a ticked task was about: a key-person task's 姓名 is the person's."""
    name = row.get("name")
    if kind is None or kind.name not in vocab.KEY_PERSON_KINDS or not isinstance(name, str) or not name.strip():
        return None
    return name.strip()


def fold_key_person(touches: pd.DataFrame) -> pd.DataFrame:
    """For a 跟进记录 without a 关键人 column: the key person goes into 备注 (`关键人: 华山`)."""
    if "key_person" not in touches or not touches["key_person"].notna().any():
        return touches
    touches = touches.copy()
    who = touches["key_person"].notna()
    note = KEY_PERSON_NOTE + touches.loc[who, "key_person"].astype(str)
    old = touches.loc[who, "notes"]
    touches.loc[who, "notes"] = note.where(old.isna(), note + "；" + old.astype(str))
    touches["key_person"] = None
    return touches


def key_person_of(contacts: pd.DataFrame) -> pd.Series:
    """The key person each 跟进记录 row was with: its 关键人, else a `关键人: 姓名` in 备注."""
    out = contacts["key_person"] if "key_person" in contacts else pd.Series(None, index=contacts.index, dtype=object)
    if "notes" in contacts:
        noted = contacts["notes"].where(contacts["notes"].map(lambda v: isinstance(v, str)))
        found = noted.str.extract(r"关键人[:：]\s*([^\s;；,，。]+)", expand=False)
        out = out.where(out.notna(), found)
    return out


def _day(value: object) -> pd.Timestamp | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        return None


def _plain(value: object):
    day = _day(value)
    return None if day is None else day.to_pydatetime()


def with_task_ids(tasks: pd.DataFrame) -> pd.DataFrame:
    """Tasks with every `task_id` filled (the rows about to be written)."""
    tasks = tasks.copy()
    if "task_id" not in tasks:
        tasks["task_id"] = pd.Series(None, index=tasks.index, dtype=object)
    missing = tasks["task_id"].isna().to_numpy()
    if missing.any():
        sub = tasks[missing]
        tasks.loc[missing, "task_id"] = task_ids(sub["client_id"], sub["kind"], sub["due"], _refs(sub))
    return tasks


def drop_logged(tasks: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Tasks without those 跟进记录 already closed (DOMAIN: The daily loop).

    A task whose number was logged with a reached (or sent) result is done, whatever
    its family's rule still says (a birthday SMS, a holiday call); one logged only as
    未接通/拒接/空号 stays, numbered for its next try (`task_id` set). Only tasks of a
    (client, kind) that has a logged number are hashed, so an office that logs nothing
    pays nothing.
    """
    closed, tries = logged_attempts(contacts)
    if not closed and not tries or tasks.empty:
        return tasks
    c = _exploded(contacts[contacts["task_id"].notna()])
    pairs = pd.MultiIndex.from_arrays([c["client_id"].astype(str).to_numpy(),
                                       c["task_id"].astype(str).str.split(ATTEMPT_SEP, n=1).str[0].to_numpy()])
    mine = pd.MultiIndex.from_arrays([tasks["client_id"].astype(str).to_numpy(), tasks["kind"].astype(str).to_numpy()])
    hit = mine.isin(pairs)
    if not hit.any():
        return tasks
    tasks = tasks.copy()
    if "task_id" not in tasks:
        tasks["task_id"] = pd.Series(None, index=tasks.index, dtype=object)
    sub = tasks[hit]
    ids = pd.Series(task_ids(sub["client_id"], sub["kind"], sub["due"], _refs(sub)), index=sub.index)
    done = ids.isin(closed)
    n = ids.map(tries)
    ids = ids.where(n.isna(), ids + ATTEMPT_SEP + (n.fillna(0).astype(int) + 1).astype(str))
    tasks.loc[sub.index, "task_id"] = ids
    return tasks.drop(index=sub.index[done.to_numpy()])
