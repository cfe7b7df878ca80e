"""Four weeks of the daily loop on the sample: do overdue clients fall when agents tick?

    python benchmarks/sim_loop.py [--share 0.8] [--days 28]

Every working day (Mon–Fri) from 2026-11-23 each agent's 我的任务 is computed (as a
refresh does), the agent completes a random 80% of the rows due today or earlier by
ticking 完成, and the ticks are logged into 跟进记录 as `xlcrm refresh` logs them
(`refresh.log_ticks`: the same rows, the same 任务编号 rule). The table is the number
of overdue (逾期) clients per agent each Monday; the second table is the same office
where nobody ticks. Runs in memory on the loaded sample (the file round trip is what
tests/test_loop.py checks); not a timed benchmark.
"""

from __future__ import annotations

import argparse
import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from xlcrm.core import vocab
from xlcrm.core.analysis import analyse
from xlcrm.core.loop import with_task_ids
from xlcrm.core.rules import read_rules
from xlcrm.core.status import is_overdue
from xlcrm.core.tasks import next_actions
from xlcrm.doors.refresh import agent_names, log_ticks
from xlcrm.io.loader import load

SAMPLE = Path(__file__).resolve().parent.parent / "workbook" / "sample.xlsx"
START = date(2026, 11, 23)


def overdue_by_agent(book, rules, day: date) -> pd.Series:
    clients = analyse(book, rules, day)
    return is_overdue(clients["status"]).groupby(clients["agent"]).sum().astype(int)


def simulate(share: float, days: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(overdue each Monday morning, overdue each Friday after the day's ticks, touches logged)."""
    book, _findings = load(SAMPLE)
    rules, _ = read_rules(book.frames.get("rules"), book.sheet_name("rules"))
    agents = agent_names(book)
    rng = random.Random(seed)
    table: dict[str, pd.Series] = {}
    friday: dict[str, pd.Series] = {"11-23 开始": overdue_by_agent(book, rules, START).reindex(agents, fill_value=0)}
    logged = 0
    for n in range(days + 1):
        day = START + timedelta(days=n)
        if day.weekday() == 0:
            table[f"{day:%m-%d}"] = overdue_by_agent(book, rules, day).reindex(agents, fill_value=0)
        if day.weekday() >= 5 or n == days or share == 0:
            continue
        tasks = with_task_ids(next_actions(book, rules, day, rules["task_days"]))
        today = pd.Timestamp(day)
        for agent in agents:
            mine = tasks[(tasks["agent"] == agent) & (tasks["date"] <= today)]
            pick = [i for i in mine.index if rng.random() < share]
            rows = mine.loc[pick].assign(done=vocab.YES, _row=range(2, len(pick) + 2))
            rows["planned"] = rows["due"].where(rows["due"] >= today, today)
            ticks = log_ticks(book, rows, "我的任务", agent, day)
            book = ticks.book
            logged += len(ticks.rows)
        if day.weekday() == 4:
            friday[f"{day:%m-%d} 收工"] = overdue_by_agent(book, rules, day).reindex(agents, fill_value=0)
    frame = pd.DataFrame(table)
    frame.index.name = "顾问"
    end = pd.DataFrame(friday)
    end.index.name = "顾问"
    return frame, end, logged


def markdown(frame: pd.DataFrame) -> str:
    head = [frame.index.name or "", *frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in frame.iterrows():
        lines.append("| " + " | ".join([str(name), *map(str, row)]) + " |")
    total = ["合计", *map(str, frame.sum())]
    lines.append("| " + " | ".join(total) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--share", type=float, default=0.8)
    parser.add_argument("--days", type=int, default=28)
    args = parser.parse_args()
    ticked, end, logged = simulate(args.share, args.days)
    print(f"Agents completing {args.share:.0%} of their due rows by ticking ({logged} touches logged).")
    print("Overdue clients per agent at the end of each working week (Friday, after that day's refresh):")
    print(markdown(end))
    print("\nOverdue clients per agent each Monday morning (before the day's work):")
    print(markdown(ticked))
    idle, idle_end, _ = simulate(0.0, args.days)
    print("\nThe same office when nobody ticks (Monday mornings):")
    print(markdown(idle))


if __name__ == "__main__":
    main()
