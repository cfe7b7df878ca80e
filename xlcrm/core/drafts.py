"""SMS drafts for the tasks on 短信/微信, rendered from 短信模板 (see messages).

A kind with several variants gets one chosen per client and month, so the same
client reads a different wording next month and two clients rarely get the same text.
"""

from __future__ import annotations

import zlib

import pandas as pd

from . import vocab
from .frames import lookup
from .messages import Messages, variables


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def pick(client_id, when) -> int:
    """A stable variant number for one client in one month."""
    return zlib.crc32(f"{client_id}|{when.year}-{when.month}".encode())


def drafts(tasks: pd.DataFrame, clients: pd.DataFrame, messages: Messages, address: str = "") -> pd.Series:
    """SMS drafts for tasks on 短信/微信; empty text for the others."""
    out = pd.Series("", index=tasks.index, dtype=object)
    sms = tasks[tasks["channel"].isin(vocab.SMS_CHANNELS)]
    if sms.empty:
        return out
    gender = lookup(sms["client_id"], clients["gender"])
    company = lookup(sms["client_id"], clients["company"])
    cols = {c: sms[c] if c in sms else pd.Series("", index=sms.index) for c in ("holiday", "who", "type", "event")}
    texts = []
    for cid, kind, name, sex, agent, due, comp, hol, who, typ, event in zip(
            sms["client_id"], sms["kind"], sms["name"], gender, sms["agent"], sms["due"], company,
            cols["holiday"], cols["who"], cols["type"], cols["event"], strict=True):
        texts.append(messages.render(kind, variables(
            name, _text(sex), agent, due.date(), _text(comp), _text(hol) or "", _text(who) or "",
            _text(typ) or "", _text(event) or "", address), pick(cid, due)))
    out.loc[sms.index] = texts
    return out
