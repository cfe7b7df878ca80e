"""Key persons of corporate accounts (seed 002, 关键人):

- 争取关键人: an A (最终批准者) or D (决策者) whose 态度 is 中立者/不支持者/反对者 gets a
  contact every 规则 关键人跟进天数 (30) after the last reached touch with them (a
  跟进记录 row of the account whose 关键人 names them, or whose 备注 says `关键人: 姓名`
  in a workbook without that column); never contacted → due today.
- 关键人生日: a key person's birthday is a care task like a family date: a call when
  the account is class A/B, an SMS for C/D.

The task carries the key person's name and phone (the account's phone when theirs is
blank), and `ref` (the name), so two key persons of one account on one day are two tasks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import vocab
from ..frames import lookup
from ..key_persons import known, title_salutation
from ..loop import key_person_of
from ..messages import salutation
from ..status import reached
from .context import Context, labelled_day, task_frame, yearly


def _people(ctx: Context) -> pd.DataFrame:
    kp = known(ctx.book.key_persons)
    return kp[kp["client_id"].isin(ctx.active.index)].drop_duplicates(["client_id", "name"])


def _salute(kp: pd.DataFrame) -> list[str]:
    """华总 from name and title, else 王先生/李女士 from the key person's own 性别."""
    return [title_salutation(n, t) or salutation(n, g if isinstance(g, str) else None)
            for n, t, g in zip(kp["name"], kp["title"], kp["gender"], strict=True)]


def _role(kp: pd.DataFrame) -> pd.Series:
    return kp["role"].map(lambda r: f"{r} {vocab.KP_ROLE_NAMES[r]}" if r in vocab.KP_ROLE_NAMES else "")


def key_persons(ctx: Context) -> pd.DataFrame:
    kp = _people(ctx)
    if kp.empty:
        return pd.DataFrame()
    return pd.concat([_win_over(ctx, kp), _birthdays(ctx, kp)], ignore_index=True)


def _win_over(ctx: Context, kp: pd.DataFrame) -> pd.DataFrame:
    every = ctx.rules["key_person_days"]
    kp = kp[kp["role"].isin(vocab.KP_DECISION_ROLES) & kp["attitude"].isin(vocab.KP_WIN_OVER)]
    if kp.empty:
        return pd.DataFrame()
    c = ctx.contacts
    c = c[c["client_id"].isin(kp["client_id"].unique())]  # only the accounts with such a person
    c = c.assign(key_person=key_person_of(c))
    c = c[reached(c) & c["key_person"].notna()]
    last = c.assign(client_id=c["client_id"].astype(object)).groupby(["client_id", "key_person"])["date"].max()
    key = pd.MultiIndex.from_arrays([kp["client_id"], kp["name"]])
    last_touch = pd.Series(last.reindex(key).to_numpy(), index=kp.index).dt.normalize()
    due = (last_touch + pd.Timedelta(days=every)).fillna(ctx.today)
    company = lookup(kp["client_id"], ctx.clients["company"]).fillna(lookup(kp["client_id"], ctx.clients["name"]))
    title = kp["title"].fillna("")
    who = kp["name"] + np.where(title != "", "(" + title + ")", "")
    since = np.where(last_touch.isna(), ",尚未联系过",
                     ",上次联系" + last_touch.dt.month.astype("Int64").astype(str) + "月"
                     + last_touch.dt.day.astype("Int64").astype(str) + "日")
    return task_frame(kp["client_id"], due, vocab.WIN_KEY_PERSON,
                      "争取关键人 " + who + " · " + company.fillna("").astype(str), vocab.PHONE,
                      "关键人(" + _role(kp) + ")态度为" + kp["attitude"] + f",每{every}天争取一次" + since,
                      name=kp["name"], phone=kp["phone"], ref=kp["name"], salute=_salute(kp))


def _birthdays(ctx: Context, kp: pd.DataFrame) -> pd.DataFrame:
    lunar = kp["birthday_calendar"] == vocab.LUNAR
    occ = yearly(kp, "birthday_month", "birthday_day", lunar, ctx.today, ctx.end)
    if occ.empty:
        return pd.DataFrame()
    cls = lookup(occ["client_id"], ctx.clients["client_class"])
    call = cls.isin(["A", "B"]).to_numpy()
    title = occ["title"].fillna("")
    who = occ["name"] + np.where(title != "", "(" + title + ")", "")
    return task_frame(occ["client_id"], occ["when"], vocab.KEY_PERSON_BIRTHDAY,
                      np.where(call, "生日电话祝福: 关键人" + who, "发送生日祝福短信: 关键人" + who),
                      np.where(call, vocab.PHONE, vocab.SMS),
                      cls + "类单位客户的关键人生日" + labelled_day(occ),
                      name=occ["name"], phone=occ["phone"], ref=occ["name"], salute=_salute(occ))
