"""9. Satisfaction survey (满意度回访) 规则 成交回访天数 (30) days after a deal, and
complaints: a 投诉 touch → a follow-up call within 规则 投诉跟进天数 (1) until a later
reached touch."""

from __future__ import annotations

import pandas as pd

from .. import vocab
from ..frames import lookup, plain_index
from ..status import reached
from .context import Context, month_day, task_frame


def surveys(ctx: Context) -> pd.DataFrame:
    rules = ctx.rules
    cl = ctx.active
    c = ctx.contacts
    # A deal is the client's 最近成交日期, or a touch logged with 事由 成交, whichever is later.
    logged = plain_index(c[c["purpose"] == vocab.DEAL].groupby("client_id")["date"].max())
    deal = pd.concat([cl["last_deal_date"], logged.reindex(cl.index)], axis=1).max(axis=1)
    deal = deal.dropna().dt.normalize()
    due = deal + pd.Timedelta(days=rules["survey_days"])
    done = plain_index(c[["client_id", "date"]][(c["purpose"] == vocab.SURVEY) & reached(c)].groupby("client_id")["date"].max())
    done = done.reindex(deal.index)
    keep = (done.isna() | (done < deal)) & (due >= ctx.today - pd.Timedelta(days=rules["catch_up_days"]))
    return task_frame(deal.index[keep], due[keep], vocab.SURVEY_CALL, "满意度回访", vocab.PHONE,
                      "成交(" + month_day(deal[keep]) + f")后{rules['survey_days']}天满意度回访")


def complaints(ctx: Context) -> pd.DataFrame:
    days = ctx.rules["complaint_days"]
    c = ctx.contacts
    comp = c[(c["purpose"] == vocab.COMPLAINT) & c["client_id"].isin(ctx.active.index)]
    later = lookup(comp["client_id"], ctx.last_reached_ts)
    comp = comp[later.isna() | (later <= comp["date"])]
    due = comp["date"].dt.normalize() + pd.Timedelta(days=days)
    return task_frame(comp["client_id"], due, vocab.COMPLAINT_CALL, "投诉跟进回电", vocab.PHONE,
                      month_day(comp["date"]) + f"投诉,{days}天内回电跟进,直至再次联系上")
