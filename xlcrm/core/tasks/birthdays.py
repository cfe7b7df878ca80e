"""3a. Birthdays (lunar ones converted to the solar date of the year in question):
A → a visit with flowers/cake on a working day, and an invitation call 规则
生日邀请提前天数 (21) days before; B → a call and a card; C, D → an SMS."""

from __future__ import annotations

import pandas as pd

from .. import vocab
from .context import Context, labelled_day, task_frame, yearly


def birthdays(ctx: Context) -> pd.DataFrame:
    invite = ctx.rules["birthday_invite_days"]
    cl = ctx.active
    lunar = cl["birthday_calendar"] == vocab.LUNAR
    occ = yearly(cl, "birthday_month", "birthday_day", lunar, ctx.today, ctx.end + pd.Timedelta(days=invite))
    if occ.empty:
        return pd.DataFrame()
    day = labelled_day(occ)
    cls = occ["client_class"]
    ids = occ.index.to_numpy()
    parts = []
    a = cls == "A"
    visit = ctx.working_day_on_or_before(occ["when"][a])
    parts.append(task_frame(ids[a], visit, vocab.BIRTHDAY_WISH, "生日拜访(带鲜花/蛋糕)", vocab.VISIT,
                            "A类客户生日" + day[a] + ",拜访安排在工作日"))
    parts.append(task_frame(ids[a], occ["when"][a] - pd.Timedelta(days=invite), vocab.BIRTHDAY_INVITE,
                            "邀请客户参加生日庆祝", vocab.PHONE, f"A类客户生日前{invite}天邀请(" + day[a] + "生日)"))
    b = cls == "B"
    parts.append(task_frame(ids[b], occ["when"][b], vocab.BIRTHDAY_WISH, "生日电话祝福+寄贺卡", vocab.PHONE,
                            "B类客户生日" + day[b]))
    cd = cls.isin(["C", "D"])
    parts.append(task_frame(ids[cd], occ["when"][cd], vocab.BIRTHDAY_WISH, "发送生日祝福短信", vocab.SMS,
                            cls[cd] + "类客户生日" + day[cd]))
    return pd.concat(parts, ignore_index=True)
