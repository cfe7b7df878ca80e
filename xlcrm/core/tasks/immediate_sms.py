"""2. Immediate SMS (短信维护, seed 000): after a 首次来电 a route/address SMS within
10 minutes, after a 首次来访 a thank-you SMS within 30 minutes, on a deal day a
congratulation SMS. Without a later 短信/微信 touch the task shows as missed (within
规则 即时短信补发天数)."""

from __future__ import annotations

import pandas as pd

from .. import vocab
from ..frames import lookup
from .context import Context, task_frame

# 事由 of the event -> (task kind, task, reason, 规则 key of the time limit)
IMMEDIATE = {
    vocab.FIRST_CALL: (vocab.ROUTE_SMS, "发送路线/地址短信", "首次来电后{m}分钟内发路线短信",
                       "first_call_sms_minutes"),
    vocab.FIRST_VISIT: (vocab.THANKS_SMS, "发送来访感谢短信", "首次来访后{m}分钟内发感谢短信",
                        "first_visit_sms_minutes"),
    vocab.DEAL: (vocab.DEAL_SMS, "发送成交祝贺短信", "成交当天发祝贺短信", None),
}


def immediate_sms(ctx: Context) -> pd.DataFrame:
    since = ctx.today - pd.Timedelta(days=ctx.rules["missed_sms_days"])
    c = ctx.contacts
    events = c[c["purpose"].isin(list(IMMEDIATE)) & (c["date"] >= since)][["client_id", "date", "purpose"]]
    deals = ctx.clients["last_deal_date"]
    deals = deals[(deals >= since) & (deals <= ctx.end)]
    extra = pd.DataFrame({"client_id": deals.index, "date": deals.to_numpy(), "purpose": vocab.DEAL})
    events = pd.concat([events, extra], ignore_index=True)
    events["day"] = events["date"].dt.normalize()
    events = events.sort_values("date").drop_duplicates(["client_id", "day", "purpose"])
    sms = c[c["channel"].isin(vocab.SMS_CHANNELS)].groupby("client_id")["date"].max()
    sent_after = lookup(events["client_id"], sms)
    # An SMS counts only if sent at or after the event (08:00 SMS, 09:30 首次来电: not sent).
    events = events[sent_after.isna() | (sent_after < events["date"])]
    kind = events["purpose"].map({k: v[0] for k, v in IMMEDIATE.items()})
    task = events["purpose"].map({k: v[1] for k, v in IMMEDIATE.items()})
    rules = ctx.rules
    why = events["purpose"].map({k: v[2].format(m=rules[v[3]] if v[3] else "") for k, v in IMMEDIATE.items()})
    missed = events["day"] < ctx.today
    why = why.where(~missed, "已错过: " + why + ",请尽快补发")
    return task_frame(events["client_id"], events["day"], kind, task, vocab.SMS, why)
