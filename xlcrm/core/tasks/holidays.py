"""4. Holidays (节假日全覆盖): every active client is covered for each holiday of 规则
覆盖节日: A → a visit with a gift in the 规则 节前拜访工作日数 (3) working days before,
spread over them; B → a call on the last working day before; C/D → an SMS on the eve.
Dates come from the holiday calendar (the `holidays` library, with 调休)."""

from __future__ import annotations

import pandas as pd

from .. import vocab
from .context import DAY, Context, task_frame

# Holidays this far past the window are looked at, so a missed slot can still be re-planned
# and the planning window "reaches" the year of a holiday this close.
LOOKAHEAD = pd.Timedelta(days=60)
COVERAGE_DAYS = pd.Timedelta(days=7)


def covered(ctx: Context, first: pd.Timestamp) -> tuple[pd.Index, pd.Index]:
    """Clients already covered for the holiday starting `first`: (visited, greeted).

    A 节日 touch in the week before the holiday (团队汇总's coverage window) that was not
    unanswered counts; an A client needs it to be a visit. A visit logged early (a slot
    done, or done another day) is therefore never planned again when a missed slot is
    re-planned.
    """
    log = ctx.contacts
    festive = log[(log["purpose"] == vocab.HOLIDAY) & ~log["outcome"].isin(vocab.NOT_REACHED)
                  & (log["date"] >= first - COVERAGE_DAYS) & (log["date"] < first)]
    visited = festive.loc[festive["channel"] == vocab.VISIT, "client_id"]
    return pd.Index(visited.unique()), pd.Index(festive["client_id"].unique())


def holidays(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    n_days = ctx.rules["holiday_visit_workdays"]
    horizon = ctx.end + LOOKAHEAD
    parts = []
    order = None
    for name, first in ctx.cal.holiday_starts(ctx.rules["holidays"], ctx.today.date(), horizon.date()):
        eve = pd.Timestamp(first) - DAY
        visit_days = [pd.Timestamp(d) for d in ctx.cal.working_days_before(first, n_days)]
        call_day = pd.Timestamp(ctx.cal.on_or_before(eve.date()))
        if min([*visit_days, call_day, eve]) > ctx.end:
            continue  # every task of this holiday falls after the window (a past slot never does)
        if order is None:  # each agent's clients in turn (only when a holiday is near)
            order = cl.sort_values(["agent"]).groupby("agent", sort=False, dropna=False).cumcount()
        visited, greeted = covered(ctx, pd.Timestamp(first))
        cl_left = cl[~cl.index.isin(greeted)]
        a = cl[(cl["client_class"] == "A") & ~cl.index.isin(visited)]
        slot = order.reindex(a.index) % len(visit_days)
        when = [visit_days[i] for i in slot]
        # A slot already past is re-planned on a working day still left before the holiday.
        left = [d for d in visit_days if d >= ctx.today] or [
            pd.Timestamp(d) for d in ctx.cal.working_days(ctx.today.date(), (pd.Timestamp(first) - DAY).date())]
        if left:
            when = [d if d >= ctx.today else left[i % len(left)] for i, d in enumerate(when)]
        parts.append(task_frame(a.index, when, vocab.HOLIDAY_WISH,
                                f"{name}节前带礼品拜访", vocab.VISIT,
                                f"节假日全覆盖: A类{name}前{n_days}个工作日内拜访", holiday=name))
        b = cl_left[cl_left["client_class"] == "B"]
        parts.append(task_frame(b.index, call_day, vocab.HOLIDAY_WISH, f"{name}问候电话", vocab.PHONE,
                                f"节假日全覆盖: B类{name}前电话问候", holiday=name))
        cd = cl_left[cl_left["client_class"].isin(["C", "D"])]
        parts.append(task_frame(cd.index, eve, vocab.HOLIDAY_WISH, f"发送{name}祝福短信", vocab.SMS,
                                f"节假日全覆盖: C/D类{name}前一天短信", holiday=name))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out[ctx.in_window(out["due"])]
