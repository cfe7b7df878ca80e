"""The 规则 sheet: every default of DOMAIN.md, declared once.

Each rule has a key (Chinese, as staff see it in 规则), an English alias, a default,
a converter and a description. `read_rules(frame)` turns the 规则 sheet into a
`Rules` mapping; a missing row falls back to the default and a bad value becomes a
finding at its cell (e.g. `规则!B12`) while the default is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import vocab
from .records import Finding


def _names(value: Any) -> tuple[str, ...]:
    parts = str(value).replace("，", ",").replace("、", ",").split(",")
    out = tuple(p.strip() for p in parts if p.strip())
    if not out:
        raise ValueError("empty list")
    return out


class OutOfRange(ValueError):
    """A rule value that is a number, but outside the rule's declared range."""


def _whole(lo: int, hi: int) -> Callable[[Any], int]:
    """A converter to a whole number in [lo, hi] (inf, nan, 1e400 and 2.5 are refused)."""

    def convert(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
        if not math.isfinite(number) or number != int(number):
            raise ValueError(value)
        if not lo <= number <= hi:
            raise OutOfRange(value)
        return int(number)

    convert.range = (lo, hi)  # type: ignore[attr-defined]
    return convert


def _share(value: Any) -> float:
    text = str(value).strip()
    number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not math.isfinite(number):
        raise ValueError(value)
    if not 0 <= number <= 1:
        raise OutOfRange(value)
    return number


_share.range = ("0%", "100%")  # type: ignore[attr-defined]


def _classes(value: Any) -> tuple[str, ...]:
    """A list of client classes (A,B): 周末短信类别; a letter outside A-D is out of range."""
    out = tuple(dict.fromkeys(p.upper() for p in _names(value)))
    if any(c not in vocab.CLASSES for c in out):
        raise OutOfRange(value)
    return out


_classes.range = ("A", "D")  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RuleDesc:
    key: str
    alias: str
    default: Any
    convert: Callable[[Any], Any]
    description: str


R = RuleDesc
RULE_DESCS: tuple[RuleDesc, ...] = (
    R("A类终生价值前比例", "a_top_share", 0.2, _share, "成交客户中终生价值排名前此比例的为A类(20%)"),
    R("A类推荐成交人数", "a_referred_deals", 2, _whole(1, 1000), "推荐成交达到此人数的为A类"),
    R("B类终生价值前比例", "b_top_share", 0.5, _share, "成交客户中终生价值排名前此比例的为B类(50%)"),
    R("B类活动参与次数", "b_activities", 2, _whole(1, 1000), "近一年参加活动(方式=活动)达到此次数的为B类"),
    R("活动统计天数", "activity_days", 365, _whole(1, 3650), "统计活动参与的回溯天数"),
    R("A类联系周期天数", "cadence_a", 1, _whole(1, 365), "A类客户电话维护周期(天)"),
    R("B类联系周期天数", "cadence_b", 3, _whole(1, 365), "B类客户电话维护周期(天),每周2-3次"),
    R("C类联系周期天数", "cadence_c", 12, _whole(1, 365), "C类客户电话维护周期(天),每月2-3次"),
    R("D类联系周期天数", "cadence_d", 30, _whole(1, 365), "D类客户只在销售节点联系,默认30天"),
    R("沉睡天数", "sleeping_days", 90, _whole(1, 3650), "超过此天数没有有效联系(或从未联系)即为沉睡客户"),
    R("即时短信补发天数", "missed_sms_days", 7, _whole(0, 365), "首次来电/来访/成交后未发短信,此天数内提示补发"),
    R("来电短信时限分钟", "first_call_sms_minutes", 10, _whole(1, 1440), "首次来电后多少分钟内发送路线短信"),
    R("来访短信时限分钟", "first_visit_sms_minutes", 30, _whole(1, 1440), "首次来访后多少分钟内发送感谢短信"),
    R("生日邀请提前天数", "birthday_invite_days", 21, _whole(0, 366), "A类客户生日提前多少天邀请(2-3周)"),
    R("覆盖节日", "holidays", ("春节", "端午节", "中秋节", "元旦", "国庆节"), _names, "节假日全覆盖的节日,逗号分隔"),
    R("节前拜访工作日数", "holiday_visit_workdays", 3, _whole(1, 30), "A类客户在节前几个工作日内带礼品拜访"),
    R("转介绍联系天数", "referral_contact_days", 2, _whole(0, 365), "新推荐在此天数内联系被推荐人"),
    R("转介绍反馈天数", "referral_feedback_days", 3, _whole(0, 365), "联系被推荐人后此天数内向推荐人反馈"),
    R("沉睡唤醒每日上限", "sleeping_per_day", 5, _whole(0, 1000), "每位顾问每天最多安排的沉睡客户唤醒电话"),
    R("坚持跟进次数", "persistence_followups", 5, _whole(0, 1000), "未成交客户有效跟进少于此次数时继续跟进"),
    R("默认跟进间隔天数", "persistence_days", 7, _whole(1, 365), "未设下次跟进日期时,上次联系后此天数内跟进"),
    R("成交回访天数", "survey_days", 30, _whole(1, 3650), "成交后此天数做满意度回访"),
    R("补做回溯天数", "catch_up_days", 30, _whole(0, 3650), "错过的满意度回访、转介绍感谢、请求转介绍在此天数内仍提示补做"),
    R("投诉跟进天数", "complaint_days", 1, _whole(0, 365), "投诉后此天数内回电跟进"),
    R("每月关怀短信数", "care_sms_per_month", 2, _whole(0, 31), "每位有效客户每月至少发送的关怀短信数"),
    R("每周拜访标准", "visits_per_week", 2, _whole(0, 100), "每位顾问每周至少拜访次数"),
    R("每日电话上限", "calls_per_day", 40, _whole(1, 1000), "每位顾问每个工作日最多安排的电话任务(同一客户同一天算一条)"),
    R("每日拜访上限", "visits_per_day", 4, _whole(1, 100), "每位顾问每个工作日最多安排的拜访任务"),
    R("门店地址", "office_address", "", str, "来电路线短信中的门店/售楼处地址(短信模板变量 {{地址}})"),
    R("任务天数", "task_days", 7, _whole(1, 366), "刷新我的任务时显示今天起多少天的任务"),
    R("建议收回逾期天数", "reclaim_overdue_days", 30, _whole(1, 3650),
      "A/B/C类客户逾期达到此天数,团队汇总列入「建议重新分配(公海)」"),
    R("资料补全阈值", "profile_min_share", 0.5, _share, "A/B类客户资料完整度低于此比例时,每月安排一次补全资料"),
    R("关键人跟进天数", "key_person_days", 30, _whole(1, 3650),
      "单位客户中态度为中立者/不支持者/反对者的A(最终批准者)、D(决策者)角色,每隔此天数争取一次"),
    R("活动邀请提前天数", "activity_invite_days", 7, _whole(1, 366),
      "活动前此天数邀请对象类别的客户(A类拜访邀请,B类电话,C/D类短信)"),
    R("转介绍请求间隔天数", "referral_ask_days", 90, _whole(1, 3650),
      "转介绍能力A/B级客户在成交或有效联系后请求转介绍,同一客户两次请求至少间隔此天数"),
    R("周末短信类别", "weekend_sms_classes", ("A",), _classes, "每个周六给这些类别的客户发一条周末问候短信,逗号分隔(A,B)"),
)
RULE_BY_NAME = {r.key: r for r in RULE_DESCS} | {r.alias: r for r in RULE_DESCS}


class Rules(dict):
    """Rule values by English alias: `rules["cadence_b"] == 3`."""

    def cadence(self, client_class: str) -> int:
        """Days between maintenance calls for a class (A类联系周期天数 …)."""
        return self[f"cadence_{client_class.lower()}"]


DEFAULT_RULES = Rules({r.alias: r.default for r in RULE_DESCS})


def display(value: Any) -> str:
    """A rule value as staff type it into 规则."""
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float) and value < 1:
        return f"{value:.0%}"
    return str(value)


def read_rules(frame: pd.DataFrame | None, sheet_name: str = "规则") -> tuple[Rules, list[Finding]]:
    """Rules from the 规则 frame (columns key, value, _row); defaults fill the gaps."""
    rules = Rules(DEFAULT_RULES)
    findings: list[Finding] = []
    if frame is None or frame.empty:
        return rules, findings
    for key, value, row in zip(frame["key"], frame["value"], frame["_row"], strict=True):
        desc = RULE_BY_NAME.get(str(key).strip()) if key is not None else None
        if desc is None:
            if key is not None and str(key).strip():
                findings.append(Finding(sheet_name, f"A{row}", f"未知规则 '{key}',已忽略", "warning",
                                        "rule-unknown", "key"))
            continue
        if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
            continue
        try:
            rules[desc.alias] = desc.convert(value)
            if desc.alias == "holidays":
                _check_holidays(rules, value, f"B{row}", sheet_name, findings)
        except OutOfRange:
            lo, hi = getattr(desc.convert, "range", ("", ""))
            findings.append(Finding(
                sheet_name, f"B{row}",
                f"规则 '{desc.key}' 的值 '{value}' 超出范围({lo}~{hi}),使用默认值 {display(desc.default)}",
                code="rule-out-of-range", field=desc.alias))
        except (ValueError, TypeError, OverflowError):
            findings.append(Finding(
                sheet_name, f"B{row}",
                f"规则 '{desc.key}' 的值 '{value}' 无效,使用默认值 {display(desc.default)}",
                code="rule-invalid", field=desc.alias))
    return rules, findings


def _check_holidays(rules: Rules, value: Any, cell: str, sheet_name: str, findings: list[Finding]) -> None:
    """覆盖节日 names the calendar does not know become a finding (and are left out)."""
    names = rules["holidays"]
    unknown = [n for n in names if n not in vocab.HOLIDAY_NAMES]
    if not unknown:
        return
    known = tuple(n for n in names if n in vocab.HOLIDAY_NAMES)
    rules["holidays"] = known
    findings.append(Finding(
        sheet_name, cell,
        f"规则 '覆盖节日' 中的 {'、'.join(unknown)} 不是可识别的节日,已忽略;可用: {'、'.join(vocab.HOLIDAY_NAMES)}",
        "warning", "rule-invalid", "holidays"))
