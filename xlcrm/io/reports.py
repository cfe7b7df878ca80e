"""Write the weekly workbooks: one per agent, and the team summary with charts.

Brand-new files, so xlsxwriter (faster than openpyxl, with charts, conditional formats
and print settings; see DESIGN.md). Every value from the data is written with
`write_string`/`write_number`/`write_datetime` and the workbook never converts
strings to formulas, so a name typed as `=1+1` stays text. Formatted for print (A4
landscape, header rows repeated, fit to width) as well as for screen.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from ..core import vocab
from ..core.weekly import NOT_MET, AgentWeek, WeekInfo, WeeklyPlan, day_label
from .template import HEADER_STYLE, OVERDUE_STYLE, SAFE_OPTIONS

WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
SUMMARY_NAME = "团队汇总"


def safe_filename(name: str, taken: set[str] | None = None) -> str:
    """A file name (without suffix) that is valid on Windows, macOS and Linux."""
    clean = re.sub(r'[\x00-\x1f<>:"/\\|?*]', "_", str(name)).strip().rstrip(". ")
    clean = clean[:80] or "顾问"
    if clean.split(".")[0].upper() in WINDOWS_RESERVED or clean == SUMMARY_NAME:
        clean = "_" + clean
    if taken is not None:
        base, n = clean, 2
        while clean.lower() in taken:
            clean, n = f"{base}_{n}", n + 1
        taken.add(clean.lower())
    return clean


class Sheet:
    """A worksheet written top to bottom: title row, header row, data, print setup."""

    def __init__(self, book: Book, name: str, title: str, headers: Sequence[tuple[str, float]]):
        self.book, self.ws = book, book.wb.add_worksheet(name)
        self.width = len(headers)
        self.widths = [w for _h, w in headers]
        self.ws.merge_range(0, 0, 0, max(self.width - 1, 1), title, book.title)
        self.ws.set_row(0, 26)
        for j, (header, width) in enumerate(headers):
            self.ws.write_string(1, j, header, book.header)
            self.ws.set_column(j, j, width)
        self.row = 2
        self.ws.freeze_panes(2, 0)
        self.ws.set_landscape()
        self.ws.set_paper(9)  # A4
        # On paper the page header carries the title on every page, so the title row is
        # left out of the print area (else page 1 shows it twice) and only the column
        # headers repeat.
        self.ws.repeat_rows(1)
        self.ws.fit_to_pages(1, 0)
        self.ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
        self.ws.set_footer("&C第 &P 页,共 &N 页")
        self.ws.set_header(f'&L&"-,Bold"&12{_escape_hf(title)}', {"margin": 0.3})
        book.sheets.append(self)
        self.below = (0, 0)  # (rows, columns) a chart under the data needs on paper

    def finish(self) -> None:
        rows, cols = self.below
        self.ws.print_area(1, 0, max(self.row - 1 + rows, 2), max(self.width - 1, cols - 1, 1))

    def write(self, values: Sequence[Any], fmt=None, formats: Sequence[Any] | None = None) -> None:
        lines = 1
        for j, value in enumerate(values):
            f = formats[j] if formats and formats[j] is not None else fmt
            self.book.cell(self.ws, self.row, j, value, f)
            if f in self.book.wrapping and isinstance(value, str):
                lines = max(lines, wrapped_lines(value, self.widths[j]))
        if lines > 1:
            # Applications do not agree on growing a row for wrapped text: say how tall it is.
            self.ws.set_row(self.row, LINE_HEIGHT * lines)
        self.row += 1

    def band(self, text: str) -> None:
        self.ws.merge_range(self.row, 0, self.row, self.width - 1, text, self.book.band)
        self.row += 1

    def empty(self, text: str = "本周没有此类事项") -> None:
        self.ws.merge_range(self.row, 0, self.row, self.width - 1, text, self.book.muted)
        self.row += 1


LINE_HEIGHT = 15
CJK_WIDTH = 1.8  # a Chinese character in column-width units (Excel ~2, LibreOffice ~1.5)


def wrapped_lines(text: str, width: float) -> int:
    """Lines `text` takes in a wrapped column `width` characters wide (CJK counts 2)."""
    total = 0
    usable = max(width - 1.5, 1)
    for part in text.split("\n"):
        w = sum(CJK_WIDTH if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in part)
        total += max(1, math.ceil(w / usable))
    return total


def _escape_hf(text: str) -> str:
    return text.replace("&", "&&")


class Book:
    """An xlsxwriter workbook with the formats every weekly sheet uses."""

    def __init__(self, path: Path):
        self.wb = xlsxwriter.Workbook(str(path), SAFE_OPTIONS)
        add = self.wb.add_format
        self.title = add({"bold": True, "font_size": 14, "valign": "vcenter"})
        self.header = add(HEADER_STYLE)
        self.band = add({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.muted = add({"italic": True, "font_color": "#808080"})
        self.date = add({"num_format": "yyyy-mm-dd", "valign": "top", "align": "center"})
        self.text = add({"valign": "top"})
        self.wrap = add({"text_wrap": True, "valign": "top"})
        self.overdue = add(OVERDUE_STYLE | {"valign": "top"})
        self.overdue_date = add(OVERDUE_STYLE | {"valign": "top", "num_format": "yyyy-mm-dd", "align": "center"})
        self.bold_date = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "num_format": "yyyy-mm-dd"})
        # A date written with a row format keeps the row's look and gets a date format.
        self._dated = {id(self.overdue): self.overdue_date, id(self.band): self.bold_date}
        self.percent = add({"num_format": "0%"})
        self.bold = add({"bold": True})
        self.overdue_wrap = add(OVERDUE_STYLE | {"valign": "top", "text_wrap": True})
        self.phone = add({"valign": "top", "num_format": "@"})
        self.sheets: list[Sheet] = []
        self.wrapping = (self.wrap, self.overdue_wrap)

    def cell(self, ws, row: int, col: int, value: Any, fmt=None) -> None:
        if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, pd.Timestamp | datetime | date):
            ws.write_datetime(row, col, pd.Timestamp(value).to_pydatetime(), self._dated.get(id(fmt), self.date))
        elif isinstance(value, bool):
            ws.write_string(row, col, "是" if value else "否", fmt)
        elif isinstance(value, int | float) or hasattr(value, "dtype"):
            ws.write_number(row, col, float(value), fmt)
        else:
            ws.write_string(row, col, str(value), fmt)

    def close(self) -> None:
        for sheet in self.sheets:
            sheet.finish()
        self.wb.close()


PLAN_HEADERS = [("日期", 11.5), ("优先级", 7), ("客户编号", 11), ("姓名", 9), ("类别", 5), ("任务", 26),
                ("方式", 6), ("原因", 40), ("手机", 16), ("原定日期", 11.5), ("完成", 6)]
REASON_COL = 7


def write_agent_workbook(path: Path, plan: WeekInfo, week: AgentWeek) -> Path:
    book = Book(path)
    book.wb.set_properties({"title": f"{week.agent} 每周行动表 {plan.week}", "author": "xlcrm"})
    def title(sheet: str) -> str:  # each sheet prints its own name
        return f"{week.agent} · 每周行动表 · {sheet}  {plan.title}"

    s = Sheet(book, "本周计划", title("本周计划"), PLAN_HEADERS)
    done_col = len(PLAN_HEADERS) - 1
    days = [plan.monday + pd.Timedelta(days=i) for i in range(7)]
    for day in days:
        rows = week.plan[week.plan["date"] == pd.Timestamp(day)]
        s.band(f"{day_label(day)}({len(rows)} 项)")
        start = s.row
        for t in rows.itertuples(index=False):
            late = t.overdue_days > 0
            row_fmt = book.overdue if late else book.text
            formats = [None] * len(PLAN_HEADERS)
            formats[REASON_COL] = formats[REASON_COL - 2] = book.overdue_wrap if late else book.wrap
            s.write([t.date, t.priority, t.client_id, t.name, t.client_class, t.task, t.channel, t.reason,
                     t.phone, t.due if late else None, None], row_fmt, formats)
        if s.row > start:
            s.ws.data_validation(start, done_col, s.row - 1, done_col,
                                 {"validate": "list", "source": list(vocab.YES_NO)})
    if week.unplanned:
        s.band(f"本周未排入: {week.unplanned}(超出每日电话/拜访上限,下周优先安排)")

    s = Sheet(book, "本周关怀", title("本周关怀"), [("日期", 11.5), ("客户编号", 11), ("姓名", 9), ("类别", 5),
                                                 ("事项", 26), ("方式", 6), ("说明", 44)])
    for name, first in plan.holidays:
        s.write([first, "", "", "", f"节日: {name}", "", "本周节日,全部客户都要覆盖"], book.band)
    for t in week.care.itertuples(index=False):
        s.write([t.due, t.client_id, t.name, t.client_class, t.task, t.channel, t.reason], book.text,
                [None] * 4 + [book.wrap, None, book.wrap])
    if week.care.empty and not plan.holidays:
        s.empty()

    s = Sheet(book, "逾期与沉睡", title("逾期与沉睡"), [("客户编号", 11), ("姓名", 9), ("类别", 5), ("跟进状态", 10),
                                                   ("距上次联系天数", 13), ("上次有效联系", 12.5), ("手机", 16)])
    for cid, c in week.attention.iterrows():
        s.write([cid, c["name"], c["client_class"], c["status"],
                 None if pd.isna(c["days_since"]) else int(c["days_since"]), c["last_reached"], c["phone"]],
                book.overdue if c["client_class"] == "A" else book.text)
    if week.attention.empty:
        s.empty("没有逾期或沉睡客户")

    s = Sheet(book, "转介绍跟进", title("转介绍跟进"), [("推荐编号", 10), ("推荐人", 9), ("推荐人编号", 11),
                                                   ("被推荐人", 12), ("被推荐人电话", 16), ("推荐日期", 11.5),
                                                   ("状态", 8), ("已反馈推荐人", 12.5), ("本周任务", 40)])
    ref_tasks = week.plan[week.plan["kind"].isin(vocab.REFERRAL_KINDS)]
    by_referrer = ref_tasks.groupby("client_id")["task"].apply(lambda x: "; ".join(dict.fromkeys(x)))
    for r in week.referrals.itertuples(index=False):
        todo = by_referrer.get(r.referral_id, "") or by_referrer.get(r.referrer_id, "")
        s.write([r.referral_id, r.referrer_name, r.referrer_id, r.referred_name, r.referred_phone, r.date, r.state,
                 r.feedback_date, todo], book.text, [None] * 8 + [book.wrap])
    if week.referrals.empty:
        s.empty("没有待跟进的转介绍")

    s = Sheet(book, "短信草稿", title("短信草稿"), [("日期", 11.5), ("客户编号", 11), ("姓名", 9), ("手机", 16), ("事由", 12),
                                       ("短信草稿(复制发送)", 70)])
    for t in week.sms.itertuples(index=False):
        s.write([t.date, t.client_id, t.name, t.phone, t.kind, t.sms], book.text, [None] * 5 + [book.wrap])
    if week.sms.empty:
        s.empty("本周没有短信任务")
    book.close()
    return path


# 团队汇总's columns: (key in team_summary, header, width, summed in the 合计 row).
SUMMARY_COLUMNS = [("agent", "顾问", 10, False), ("clients", "客户数", 7, True),
                   *((c, f"{c}类", 6, True) for c in vocab.CLASSES),
                   ("overdue", "逾期", 6, True), ("a_overdue", "A类逾期", 8, True), ("sleeping", vocab.SLEEPING, 6, True),
                   ("touches_last_week", "上周有效联系", 12, True), ("visits_last_week", "上周拜访", 9, False),
                   ("visit_standard", "拜访标准", 9, False), ("visits_ok", "拜访达标", 9, False),
                   ("last_holiday", "上个节日", 16, False), ("holiday_coverage", "节日覆盖率", 10, False),
                   ("tasks_this_week", "本周任务", 9, True), ("unplanned", vocab.UNPLANNED, 7, True)]
SUMMARY_AT = {key: j for j, (key, *_rest) in enumerate(SUMMARY_COLUMNS)}


def write_team_summary(path: Path, plan: WeeklyPlan, summary: dict[str, pd.DataFrame]) -> Path:
    book = Book(path)
    book.wb.set_properties({"title": f"团队汇总 {plan.week}", "author": "xlcrm"})
    title = f"团队汇总 · {plan.title}"
    s = Sheet(book, "团队汇总", title, [(header, width) for _k, header, width, _s in SUMMARY_COLUMNS])
    table = summary["summary"]
    first = s.row
    formats = [book.percent if key == "holiday_coverage" else None for key, *_rest in SUMMARY_COLUMNS]
    for row in table[[key for key, *_rest in SUMMARY_COLUMNS]].itertuples(index=False):
        s.write(list(row), formats=formats)
    last = s.row - 1
    at = SUMMARY_AT
    if last >= first:
        s.write(["合计" if key == "agent" else table[key].sum() if summed else None
                 for key, _h, _w, summed in SUMMARY_COLUMNS], book.bold)
        s.ws.conditional_format(first, at["a_overdue"], last, at["a_overdue"],
                                {"type": "cell", "criteria": ">", "value": 0, "format": book.overdue})
        s.ws.conditional_format(first, at["visits_ok"], last, at["visits_ok"],
                                {"type": "cell", "criteria": "==", "value": f'"{NOT_MET}"', "format": book.overdue})
        s.ws.conditional_format(first, at["holiday_coverage"], last, at["holiday_coverage"],
                                {"type": "cell", "criteria": "<", "value": 1, "format": book.overdue})
        _chart(book, s.ws, "各顾问客户类别", "stacked", [(c + "类", at[c]) for c in vocab.CLASSES], first, last,
               "类别分布", f"A{s.row + 3}")
        _chart(book, s.ws, "各顾问逾期客户", "column",
               [("逾期", at["overdue"]), ("A类逾期", at["a_overdue"]), (vocab.SLEEPING, at["sleeping"])], first, last,
               "逾期客户", f"A{s.row + 20}")
        s.below = (36, 8)

    funnel = summary["funnel"]
    s = Sheet(book, "转介绍漏斗", f"团队汇总 · 转介绍漏斗  {plan.title}", [("顾问", 10), ("推荐", 7), ("联系", 7), ("到访", 7), ("成交", 7),
                                         ("联系率", 8), ("到访率", 8), ("成交率", 8)])
    for row in funnel.itertuples(index=False):
        s.write(list(row), formats=[None] * 5 + [book.percent] * 3)
    totals = [funnel[c].sum() for c in ("推荐", "联系", "到访", "成交")]
    rate = [t / totals[0] if totals[0] else 0 for t in totals[1:]]
    s.write(["合计", *totals, *rate], book.bold, formats=[None] * 5 + [book.percent] * 3)
    total_row = s.row - 1
    s.band("参考: 转介绍成交率约 40%,陌拜约 11%(培训资料)")
    chart = book.wb.add_chart({"type": "bar"})
    chart.add_series({"name": "团队转介绍漏斗", "categories": ["转介绍漏斗", 1, 1, 1, 4],
                      "values": ["转介绍漏斗", total_row, 1, total_row, 4], "data_labels": {"value": True}})
    chart.set_title({"name": "转介绍漏斗: 推荐 → 联系 → 到访 → 成交"})
    chart.set_y_axis({"reverse": True})
    chart.set_legend({"none": True})
    s.ws.insert_chart(f"A{s.row + 2}", chart, {"x_scale": 1.4})
    s.below = (18, 11)

    churn = summary["churn"]
    headers = [("顾问", 10)] + [(str(c), 8) for c in churn.columns[1:]]
    s = Sheet(book, "流失原因", f"团队汇总 · 流失原因  {plan.title}", headers if len(headers) > 1 else headers + [("流失", 8)])
    for row in churn.itertuples(index=False):
        s.write(list(row))
    if churn.empty or len(churn.columns) == 1:
        s.empty("没有流失客户")
    book.close()
    return path


def _chart(book: Book, ws, title: str, kind: str, series: list[tuple[str, int]], first: int, last: int,
           y_name: str, where: str) -> None:
    chart = book.wb.add_chart({"type": "column", "subtype": "stacked"} if kind == "stacked" else {"type": "column"})
    for name, col in series:
        chart.add_series({"name": name, "categories": [ws.name, first, 0, last, 0],
                          "values": [ws.name, first, col, last, col]})
    chart.set_title({"name": title})
    chart.set_y_axis({"name": y_name})
    ws.insert_chart(where, chart, {"x_scale": 1.1})


def _write_one(args: tuple[Path, WeekInfo, AgentWeek]) -> Path:
    path, plan, week = args
    return write_agent_workbook(path, plan, week)


def write_weekly(plan: WeeklyPlan, out_dir: str | Path, summary: dict[str, pd.DataFrame],
                 weeks: list[AgentWeek], jobs: int = 1,
                 progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write every agent's workbook and the team summary into OUT/<ISO week>/."""
    folder = Path(out_dir) / plan.week
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    info = plan.info  # not the plan: it holds the whole book, too big to send to each process
    work = [(folder / f"{safe_filename(w.agent, taken)}.xlsx", info, w) for w in weeks]
    written: list[Path] = []
    if jobs > 1 and len(work) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            for path in pool.map(_write_one, work, chunksize=max(1, len(work) // (jobs * 8))):
                written.append(path)
                if progress:
                    progress(path.stem)
    else:
        for item in work:
            written.append(_write_one(item))
            if progress:
                progress(item[0].stem)
    written.append(write_team_summary(folder / f"{SUMMARY_NAME}.xlsx", plan, summary))
    return written


