"""SMS drafts for the tasks on 短信/微信, rendered from 短信模板 (see messages).

A kind with several variants gets one chosen per client and month, so the same
client reads a different wording next month and two clients rarely get the same text.
A weekly kind (周末短信) picks per client and week instead, so a key client's Saturday
messages rotate through the variants week after week.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import pandas as pd

from . import vocab
from .frames import lookup
from .messages import Messages, variables


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _values(column: pd.Series) -> list:
    """A column as a list, without pandas' per-element iteration (Arrow strings, datetimes);
    a blank is None (NaT for a date): the loop below tells only strings from the rest."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        # Each distinct day made a Timestamp once (a week's drafts fall on a few dozen
        # days; tolist() made 340,000 of them: 0.5 s); code -1, a blank, takes the NaT.
        codes, days = pd.factorize(column)
        return np.array([*days, pd.NaT], dtype=object)[codes].tolist()
    return column.to_numpy(dtype=object, na_value=None).tolist()


def pick(client_id, when, kind: str = "") -> int:
    """A stable variant number for one client in one month; for a weekly kind the client's
    number plus the week's, so two weeks in a row never read the same (with 2+ variants)."""
    if kind in vocab.WEEKLY_KINDS:
        return zlib.crc32(str(client_id).encode()) + pd.Timestamp(when).toordinal() // 7
    return zlib.crc32(f"{client_id}|{when.year}-{when.month}".encode())


def _scripts(tasks: pd.DataFrame) -> pd.Series:
    """The script kind (话术) of each task, None for most: a call the planner merged
    (维护电话、请求转介绍) still gets the script of its script kind."""
    kinds = tasks["kinds"].fillna(tasks["kind"]).astype(str) if "kinds" in tasks else tasks["kind"].astype(str)
    script = pd.Series(None, index=tasks.index, dtype=object)
    for kind in vocab.SCRIPT_KINDS:  # one of the kinds joined by 、 (Arrow's regex kernel)
        named = kinds.astype("str").str.contains(f"(?:^|、){re.escape(kind)}(?:、|$)", regex=True)
        script = script.where(script.notna() | ~named.fillna(False).astype(bool), kind)
    return script


def needs_draft(tasks: pd.DataFrame) -> pd.Series:
    """The tasks `drafts` writes a text for (an SMS or WeChat, or a script kind)."""
    if tasks.empty:
        return pd.Series(False, index=tasks.index, dtype=bool)
    return tasks["channel"].isin(vocab.SMS_CHANNELS) | _scripts(tasks).notna()


def drafts(tasks: pd.DataFrame, clients: pd.DataFrame, messages: Messages, address: str = "") -> pd.Series:
    """SMS drafts for tasks on 短信/微信, and the talk script (话术) of the script kinds
    (请求转介绍) whatever their channel; empty text for the others.

    Optional task columns: holiday, who, type, event (关怀日期), `salute` (the 称呼 of a
    key person: 华总), `activity`/`place`/`event_date` (活动邀请).
    """
    out = pd.Series("", index=tasks.index, dtype=object)
    script = _scripts(tasks)
    sms = tasks[tasks["channel"].isin(vocab.SMS_CHANNELS) | script.notna()]
    if sms.empty:
        return out
    template = script.where(~tasks["channel"].isin(vocab.SMS_CHANNELS), tasks["kind"])[sms.index]
    gender = lookup(sms["client_id"], clients["gender"])
    company = lookup(sms["client_id"], clients["company"])
    blank = pd.Series("", index=sms.index)
    cols = {c: sms[c] if c in sms else blank
            for c in ("holiday", "who", "type", "event", "salute", "activity", "place")}
    events = sms["event_date"] if "event_date" in sms else pd.Series(pd.NaT, index=sms.index)
    texts = []
    for cid, kind, name, sex, agent, due, comp, hol, who, typ, event, sal, act, place, when in zip(*map(_values, (
            sms["client_id"], template, sms["name"], gender, sms["agent"], sms["due"], company,
            cols["holiday"], cols["who"], cols["type"], cols["event"], cols["salute"], cols["activity"],
            cols["place"], events)), strict=True):
        values = variables(name, _text(sex), agent, due.date(), _text(comp), _text(hol) or "", _text(who) or "",
                           _text(typ) or "", _text(event) or "", address)
        if _text(sal):
            values["称呼"] = sal
        values["活动"] = _text(act) or ""
        values["地点"] = _text(place) or ""
        values["活动日期"] = f"{when.month}月{when.day}日" if isinstance(when, pd.Timestamp) else ""
        texts.append(messages.render(kind, values, pick(cid, due, kind)))
    out.loc[sms.index] = texts
    return out
