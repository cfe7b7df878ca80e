"""Every client with its class and status: the frame the board and the tasks start from."""

from __future__ import annotations

from datetime import date

import pandas as pd

from .classify import classify
from .frames import client_table
from .records import Book
from .rules import Rules
from .status import status, with_reached


def analyse(book: Book, rules: Rules, today: date) -> pd.DataFrame:
    """客户 keyed by 客户编号, joined with classify() and status()."""
    clients = client_table(book.clients)
    classes = classify(book, rules, today)
    states = status(book, rules, classes, today, with_reached(book.contacts))
    return clients.join(classes).join(states)
