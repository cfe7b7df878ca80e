"""6. Referrals (转介绍六步): a 新推荐 not contacted within 规则 转介绍联系天数 (2) →
contact the referred person; referred person contacted but the referrer not yet told
(no 已反馈推荐人日期, and no reached 转介绍 touch with the referrer since) → a feedback call within 规则 转介绍反馈天数 (3); a referred deal →
thank the referrer. A referred person registered with another agent is not named."""

from __future__ import annotations

import pandas as pd

from .. import vocab
from ..board import mask_foreign
from ..frames import lookup
from ..status import reached
from .context import Context, month_day, task_frame


def referrals(ctx: Context) -> pd.DataFrame:
    refs = ctx.book.referrals
    refs = refs[refs["state"].notna() & (refs["state"] != vocab.REF_INVALID)
                & refs["referrer_id"].isin(ctx.clients.index)]
    if refs.empty:
        return pd.DataFrame()
    # A referred person already registered as a 勿扰 (or 流失) client is never contacted.
    inactive = ctx.clients.index[~ctx.clients["active"].astype(bool)]
    refs = refs[~((refs["state"] == vocab.REF_NEW) & refs["referred_client_id"].isin(inactive))]
    if refs.empty:
        return pd.DataFrame()
    rules = ctx.rules
    referrer = ctx.clients.loc[refs["referrer_id"]]
    agent = referrer["agent"].to_numpy()
    refs = mask_foreign(refs.assign(agent=agent), ctx.clients, "referred_client_id", ["referred_name"])
    parts = []
    c = ctx.contacts
    touched = c.loc[reached(c), ["client_id", "date", "purpose"]]  # once, not once per question
    per_client = touched.groupby("client_id")["date"].agg(["min", "max"])
    first_touch = per_client["min"]
    # A reached 转介绍 touch with the referrer: the feedback, or the thanks for a referred deal.
    referral_touch = touched[touched["purpose"] == vocab.REFERRAL].groupby("client_id")["date"].max()
    # A 新推荐 whose referred person (registered as a client) has a reached touch since the
    # referral counts as contacted, as if its 状态 said 已联系.
    since = lookup(refs["referred_client_id"], per_client["max"])
    reached_new = ((refs["state"] == vocab.REF_NEW) & since.notna() & (since >= refs["date"])).to_numpy()
    new = (refs["state"] == vocab.REF_NEW).to_numpy() & ~reached_new
    r = refs[new]
    due = r["date"].dt.normalize() + pd.Timedelta(days=rules["referral_contact_days"])
    parts.append(task_frame(r["referred_client_id"].fillna(r["referral_id"]), due, vocab.REFERRAL_CONTACT,
                            "联系被推荐人" + r["referred_name"].fillna(""), vocab.PHONE,
                            f"转介绍: 新推荐{rules['referral_contact_days']}天内联系(" + month_day(r["date"])
                            + "推荐,推荐人" + referrer["name"][new].fillna("").to_numpy() + ")",
                            name=r["referred_name"], phone=r["referred_phone"],
                            agent=agent[new], keep=True, client_class=""))
    # Feedback to the referrer within N days of contacting the referred person.
    fb = ((refs["state"].isin(vocab.REF_REACHED).to_numpy() | reached_new) & refs["feedback_date"].isna().to_numpy())
    r = refs[fb]
    contacted = lookup(r["referred_client_id"], first_touch)
    contacted = contacted.where(contacted >= r["date"], r["date"]).dt.normalize()
    # A reached 转介绍 touch with the referrer on or after that day is the feedback (the daily
    # loop logs it when the agent ticks the task): no hand edit of 已反馈推荐人日期 needed.
    told = lookup(r["referrer_id"], referral_touch)
    open_ = (told.isna() | (told.dt.normalize() < contacted)).to_numpy()
    r, contacted = r[open_], contacted[open_]
    due = contacted + pd.Timedelta(days=rules["referral_feedback_days"])
    parts.append(task_frame(r["referrer_id"], due, vocab.REFERRAL_FEEDBACK, "向推荐人反馈进展", vocab.PHONE,
                            f"转介绍: 联系被推荐人后{rules['referral_feedback_days']}天内反馈推荐人(被推荐人"
                            + r["referred_name"].fillna("") + ")"))
    # Thank the referrer for a referred deal (done once a reward or a 转介绍 touch is logged).
    deal = ((refs["state"] == vocab.REF_CLOSED) & refs["reward"].isna()).to_numpy()
    r = refs[deal]
    deal_day = lookup(r["referred_client_id"], ctx.clients["last_deal_date"]).fillna(r["date"]).dt.normalize()
    thanked = lookup(r["referrer_id"], referral_touch)
    keep = (thanked.isna() | (thanked < deal_day)) & (deal_day >= ctx.today - pd.Timedelta(days=rules["catch_up_days"]))
    parts.append(task_frame(r["referrer_id"][keep], deal_day[keep], vocab.REFERRAL_THANKS,
                            "感谢推荐人", vocab.PHONE,
                            ("转介绍: 推荐的" + r["referred_name"].fillna("") + "已成交,致谢并兑现奖励")[keep]))
    return pd.concat(parts, ignore_index=True)
