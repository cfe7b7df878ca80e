"""SMS drafts for the tasks on 短信/微信, rendered from 短信模板 (see messages)."""

from __future__ import annotations

import pandas as pd

from . import vocab
from .frames import lookup
from .messages import Messages, variables


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def drafts(tasks: pd.DataFrame, clients: pd.DataFrame, messages: Messages) -> pd.Series:
    """SMS drafts for tasks on 短信/微信; empty text for the others."""
    out = pd.Series("", index=tasks.index, dtype=object)
    sms = tasks[tasks["channel"].isin(vocab.SMS_CHANNELS)]
    if sms.empty:
        return out
    gender = lookup(sms["client_id"], clients["gender"])
    company = lookup(sms["client_id"], clients["company"])
    cols = {c: sms[c] if c in sms else pd.Series("", index=sms.index) for c in ("holiday", "who", "type")}
    texts = []
    for kind, name, sex, agent, due, comp, hol, who, typ in zip(
            sms["kind"], sms["name"], gender, sms["agent"], sms["due"], company,
            cols["holiday"], cols["who"], cols["type"], strict=True):
        texts.append(messages.render(kind, variables(
            name, _text(sex), agent, due.date(), _text(comp), _text(hol) or "", _text(who) or "",
            _text(typ) or "")))
    out.loc[sms.index] = texts
    return out
