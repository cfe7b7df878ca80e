"""Activities (活动: seed 000 客户活动/生日派对, seed 004 业主活动): every active client of
an activity's 对象类别 (blank: every class) is invited 规则 活动邀请提前天数 (7) days
before it: A → a visit with the invitation (on a working day on or before; a call when
that day has passed or the agent's 每日拜访上限 is reached), B → a call, C/D → an SMS naming the activity, its date and place. A reached touch (or a sent
SMS) with 事由 活动邀请 from one invitation period before the invitation day up to the
activity counts as invited. Attendance is logged as 方式 活动, which counts toward B.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import vocab
from .context import DAY, Context, month_day, task_frame


def target_classes(text: object) -> tuple[str, ...] | None:
    """`A,B` / `A、B` / `AB` / `a b` → ("A", "B"); blank → every class; None when the cell
    is not a list of A-D (`A,X`, `1`): validate reports it and the activity is left out."""
    if text is None or (isinstance(text, float) and text != text) or (isinstance(text, str) and not text.strip()):
        return vocab.CLASSES
    if not isinstance(text, str):
        return None
    letters = [ch for ch in text.upper() if ch.isalnum()]
    if not letters or any(ch not in vocab.CLASSES for ch in letters):
        return None
    return tuple(c for c in vocab.CLASSES if c in letters)


VISIT_CAP = "visits_per_day"


def activities(ctx: Context) -> pd.DataFrame:
    acts = ctx.book.activities
    acts = acts[acts["activity_id"].notna() & acts["name"].notna() & acts["date"].notna()
                & acts["classes"].map(lambda t: target_classes(t) is not None)]
    days = ctx.rules["activity_invite_days"]
    acts = acts[(acts["date"].dt.normalize() >= ctx.today)
                & (acts["date"].dt.normalize() - pd.Timedelta(days=days) <= ctx.end)]
    cl = ctx.active
    if acts.empty or cl.empty:
        return pd.DataFrame()
    c = ctx.contacts
    invited = c[(c["purpose"] == vocab.ACTIVITY_INVITE)
                & (c["_reached"] | c["channel"].isin(vocab.SMS_CHANNELS))]
    parts = []
    for act in acts.itertuples(index=False):
        event = pd.Timestamp(act.date).normalize()
        due = event - pd.Timedelta(days=days)
        who = cl[cl["client_class"].isin(target_classes(act.classes))]
        done = invited[(invited["date"] >= due - pd.Timedelta(days=days)) & (invited["date"] < event + DAY)]
        who = who[~who.index.isin(done["client_id"].astype(object).unique())]
        if who.empty:
            continue
        cls = who["client_class"]
        place = act.place if isinstance(act.place, str) else ""
        label = f"「{act.name}」({month_day(pd.Series([event])).iloc[0]}{'·' + place if place else ''})"
        a = (cls == "A").to_numpy()
        visit_day = pd.to_datetime(ctx.working_day_on_or_before(pd.Series(due, index=who.index[a])))
        b = (cls == "B").to_numpy()
        cd = ~(a | b)
        reason = f"活动前{days}天邀请{'/'.join(target_classes(act.classes))}类客户(活动编号{act.activity_id})"
        extra = {"activity": act.name, "place": place, "event_date": event, "ref": act.activity_id}
        # An A visit needs a free visit slot: one whose day has passed, or beyond the agent's
        # 每日拜访上限 that day, becomes a call ("不便登门则电话"; a late one is carried to today).
        slot = visit_day.groupby([who.loc[visit_day.index, "agent"].fillna(""), visit_day]).cumcount()
        visit = ((visit_day >= ctx.today) & (slot < ctx.rules[VISIT_CAP])).to_numpy()
        a_visit, a_call = who.index[a][visit], who.index[a][~visit]
        due64 = due.to_datetime64()  # a datetime column, not one of Timestamp objects
        parts.append(task_frame(a_visit, visit_day[visit], vocab.ACTIVITY_INVITATION, "登门邀请参加" + label
                                + ",送请柬(不便登门则电话)", vocab.VISIT, "A类: " + reason, **extra))
        parts.append(task_frame(a_call, visit_day[~visit],
                                vocab.ACTIVITY_INVITATION, "电话邀请参加" + label + "(登门时间已排满或已过)",
                                vocab.PHONE, "A类: " + reason, **extra))
        parts.append(task_frame(who.index[b], np.full(b.sum(), due64), vocab.ACTIVITY_INVITATION,
                                "电话邀请参加" + label, vocab.PHONE, "B类: " + reason, **extra))
        parts.append(task_frame(who.index[cd], np.full(cd.sum(), due64), vocab.ACTIVITY_INVITATION,
                                "发送活动邀请短信" + label, vocab.SMS, cls[cd] + "类: " + reason, **extra))
    parts = [p for p in parts if len(p)]  # an empty part would make every column object
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
