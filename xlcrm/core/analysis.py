"""Every client with its class and status: the frame the board and the tasks start from."""

from __future__ import annotations

from datetime import date

import pandas as pd

from .classify import classify, is_deal_client
from .frames import client_table
from .handover import current_agents
from .key_persons import account_summary
from .profile import completeness
from .records import Book
from .referral_grade import referral_grade
from .rules import Rules
from .status import status, with_reached


def analyse(book: Book, rules: Rules, today: date) -> pd.DataFrame:
    """客户 keyed by 客户编号, joined with classify() and status().

    `agent` is the current agent after the 交接 rows on or before `today`;
    `registered_agent` is 客户's 负责顾问 and `original_agent` the one the last
    handover took the client from. `completeness` is 资料完整度 (0..1). The referral
    grade (referral_grade, referral_reason) and the key-person summary of corporate
    accounts (key_persons, single_thread) are joined too.
    """
    clients = client_table(book.clients)
    handovers = book.frames.get("handovers")
    agent, original = current_agents(clients, handovers, today)
    clients = clients.assign(registered_agent=clients["agent"], agent=agent, original_agent=original,
                             completeness=completeness(clients, book.frames.get("profiles")))
    classes = classify(book, rules, today)
    states = status(book, rules, classes, today, with_reached(book.contacts))
    grades = referral_grade(clients, classes["referred_deals"], is_deal_client(clients))
    accounts = account_summary(book.key_persons, clients.index)
    return clients.join(classes).join(states).join(grades).join(accounts)
