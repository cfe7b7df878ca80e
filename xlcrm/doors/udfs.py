"""Excel worksheet functions (classic xlwings UDFs, Windows Excel).

Thin wrappers over `ranges`, which runs the same core as the CLI. Register the module
in the xlwings add-in's "UDF Modules" setting as `xlcrm.udfs` (README: Use it in Excel).

    =CRM_CLASS(Clients[#All], Referrals[#All], Contacts[#All], TODAY())
    =CRM_STATUS(Clients[#All], Referrals[#All], Contacts[#All], TODAY())
    =CRM_NEXT(Clients[#All], Referrals[#All], Contacts[#All], TODAY(), KeyDates[#All], Rules[#All],
              Handovers[#All], Profiles[#All], Activities[#All], KeyPersons[#All])
    =CRM_CADENCE("B")      =CRM_OVERDUE("B", 最近联系日期, TODAY())
    =CRM_SALUTATION(姓名, 性别)

Table ranges spill one column aligned with the table's rows (header first). Every
optional `rules` argument takes Rules[#All] (the 规则 table); without it the defaults
apply. Bad arguments return a short error text such as `#缺少列:客户编号`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps

import xlwings as xw

from ..core.messages import salutation
from . import ranges


def _excel_safe(func: Callable) -> Callable:
    """Never a traceback in a cell: input errors become `#…` text."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ranges.RangeError as exc:
            return str(exc)
        except (ValueError, TypeError, KeyError) as exc:
            return f"#错误:{exc}"

    return wrapper


def _today() -> date:
    return date.today()


def _table_udf(*tables: str) -> Callable:
    """@xw.func with 2-D ranges for the table arguments (and `rules`), errors as text."""

    def decorate(func: Callable) -> Callable:
        func = _excel_safe(func)
        for name in (*tables, "rules"):
            func = xw.arg(name, ndim=2)(func)
        return xw.func(func)

    return decorate


@_table_udf("clients", "referrals", "contacts")
def crm_class(clients, referrals=None, contacts=None, today=None, rules=None):
    """Class A/B/C/D of every client row (DOMAIN: Classification)."""
    return ranges.class_column(clients, referrals, contacts, today, rules, _today())


@_table_udf("clients", "referrals", "contacts")
def crm_class_reason(clients, referrals=None, contacts=None, today=None, rules=None):
    """Why each client has its class (`A: 推荐成交2位`)."""
    return ranges.class_column(clients, referrals, contacts, today, rules, _today(), with_reason=True)


@_table_udf("clients", "referrals", "contacts")
def crm_status(clients, referrals=None, contacts=None, today=None, rules=None):
    """正常 / 今日到期 / 逾期N天 / 沉睡 / 勿扰 / 流失 for every client row."""
    return ranges.status_column(clients, referrals, contacts, today, rules, _today())


@_table_udf("clients", "referrals", "contacts", "key_dates", "handovers", "profiles", "activities", "key_persons")
def crm_next(clients, referrals=None, contacts=None, today=None, key_dates=None, rules=None, handovers=None,
             profiles=None, activities=None, key_persons=None):
    """The next step of every client row: `2026-11-24 维护电话`.

    `handovers` (Handovers[#All], 交接) and `profiles` (Profiles[#All], 客户档案) are optional,
    as in the workbook: with them the step matches 客户看板 for handed-over clients and 补全资料.
    """
    return ranges.next_column(clients, referrals, contacts, today, key_dates, rules, _today(), handovers, profiles,
                              activities, key_persons)


@xw.func
@xw.arg("rules", ndim=2)
@_excel_safe
def crm_cadence(client_class, rules=None):
    """Days between maintenance calls for a class (规则: A类联系周期天数 …)."""
    return ranges.cadence(client_class, rules)


@xw.func
@xw.arg("rules", ndim=2)
@_excel_safe
def crm_overdue(client_class, last_contact, today=None, rules=None):
    """Status of one client from its class and last reached contact: 逾期2天, 正常 …"""
    return ranges.overdue(client_class, last_contact, today, rules, _today())


@xw.func
@_excel_safe
def crm_salutation(name, gender=None):
    """称呼: 王先生 / 李女士 / 欧阳先生; the full name when the gender is unknown."""
    return salutation(None if name is None else str(name), None if gender is None else str(gender))
