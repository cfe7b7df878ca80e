"""SMS drafts: the 短信模板 sheet rendered in a Jinja2 sandbox.

Office staff edit the templates, so they render in a `SandboxedEnvironment`: a
template can use variables and filters but cannot reach Python internals. It is also
bounded (`BoundedEnvironment`): arithmetic (`*`, `**`, `+`, `%`) is intercepted, so
neither the compiler's constant folding nor a render can build a huge number or
string; every loop iteration, call and filter counts against a step budget and a
time limit; macro recursion has a depth limit; and the output is limited to Excel's
32,767 characters a cell. A template that fails to parse or breaks a bound becomes a
finding at 短信模板!B<row>, and the task gets the shipped default text instead, so
tasks always come out. A default text that is still too long (a very long name) is
cut with a visible marker.

Variables (Chinese names, as staff write them): 称呼, 姓名, 顾问, 节日, 日期, 单位, 对象,
类型, 事项 (您妻子的生日), 地址 (规则 门店地址), and for 活动邀请 活动, 地点, 活动日期.
A key person's 称呼 is 姓+职务 (华总).
"""

from __future__ import annotations

import functools
import math
import re
import time
from datetime import date

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from .records import Finding

CELL_LIMIT = 32767  # Excel's characters in one cell
CAP_MARKER = "…(超过 Excel 单元格 32767 字上限,已截断)"
MAX_STEPS = 100_000  # loop iterations + calls + operators in one render
MAX_SECONDS = 2.0  # wall time of one render
MAX_DEPTH = 30  # nested calls (macro recursion)
MAX_INT_BITS = 256  # numbers a template may compute
MAX_ARG = 100_000  # integer arguments to calls and filters (widths, counts)
_BIG_FORMAT = re.compile(r"%[-+ #0]*(\d{5,}|\*)|%[-+ #0]*\d*\.(\d{5,}|\*)")


def cap_text(text: str) -> str:
    """`text` cut to Excel's 32,767 characters a cell, with a visible marker when cut."""
    if len(text) <= CELL_LIMIT:
        return text
    return text[:CELL_LIMIT - len(CAP_MARKER)] + CAP_MARKER


class BudgetError(SecurityError):
    """A template went beyond a bound (steps, time, depth, size)."""


def _size(value: object) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, int):
            return value.bit_length() // 8
        return 0
    return len(value) if isinstance(value, str | bytes | list | tuple | dict | set) else 0


class BoundedEnvironment(SandboxedEnvironment):
    """A sandbox that also bounds time, steps, depth, numbers and sizes of one render."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//", "/"})

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.globals["range"] = self._range
        self.globals["_xlcrm_bounded"] = self._bounded
        self.filters = {name: self._wrap_filter(f) for name, f in self.filters.items()}
        self._steps = 0
        self._deadline = math.inf
        self._depth = 0

    # --- the budget of one render
    def start(self) -> None:
        self._steps, self._depth = 0, 0
        self._deadline = time.monotonic() + MAX_SECONDS

    def tick(self, n: int = 1) -> None:
        self._steps += n
        if self._steps > MAX_STEPS:
            raise BudgetError(f"循环或计算超过 {MAX_STEPS} 步")
        if self._steps % 256 == 0 and time.monotonic() > self._deadline:
            raise BudgetError(f"生成超过 {MAX_SECONDS:g} 秒")

    def _bounded(self, iterable):
        for item in iterable:
            self.tick()
            yield item

    def _range(self, *args):
        for a in args:
            if not isinstance(a, int) or abs(a) > MAX_STEPS:
                raise BudgetError(f"range 的参数 {a!r} 太大")
        return self._bounded(range(*args))

    @staticmethod
    def _check_args(args, kwargs) -> None:
        for a in (*args, *kwargs.values()):
            if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_ARG:
                raise BudgetError(f"参数 {a} 太大")

    @staticmethod
    def _check_result(value):
        if _size(value) > CELL_LIMIT * 4:
            raise BudgetError(f"生成的内容超过 {CELL_LIMIT} 字")
        return value

    def _wrap_filter(self, func):
        @functools.wraps(func)
        def bounded(*args, **kwargs):
            self.tick()
            self._check_args(args[1:], kwargs)
            return self._check_result(func(*args, **kwargs))

        return bounded

    # --- compile: every for loop iterates through the step counter
    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name("_xlcrm_bounded", "load"), [loop.iter], [], None, None,
                                   lineno=loop.lineno)
        return tree

    # --- operators and calls
    def call_binop(self, context, operator, left, right):
        self.tick()
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        if operator == "**" and numbers:
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1 \
                    and right * math.log2(abs(left)) > MAX_INT_BITS:
                raise BudgetError("乘方结果太大")
        elif operator == "*":
            if numbers and isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise BudgetError("乘积太大")
            elif isinstance(left, int) or isinstance(right, int):
                count = left if isinstance(left, int) else right
                other = right if isinstance(left, int) else left
                if count * max(_size(other), 1) > CELL_LIMIT:
                    raise BudgetError("重复后的内容太长")
        elif operator == "%" and isinstance(left, str) and _BIG_FORMAT.search(left):
            raise BudgetError("格式宽度太大")
        try:
            result = self.binop_table[operator](left, right)
        except OverflowError as exc:
            raise BudgetError(f"数值溢出({exc})") from None
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS * 2:
            raise BudgetError("计算结果太大")
        return self._check_result(result)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - mirrors the base class
        __self.tick()
        __self._check_args(args, kwargs)
        __self._depth += 1
        try:
            if __self._depth > MAX_DEPTH:
                raise BudgetError(f"调用嵌套超过 {MAX_DEPTH} 层(宏递归?)")
            return __self._check_result(super().call(__context, __obj, *args, **kwargs))
        finally:
            __self._depth -= 1

    def render(self, template, variables: dict) -> str:
        """Render within the budget; the output is at most CELL_LIMIT characters or BudgetError."""
        self.start()
        out: list[str] = []
        size = 0
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > CELL_LIMIT:
                raise BudgetError(f"生成的短信超过 {CELL_LIMIT} 字")
            out.append(chunk)
            self.tick()
        return "".join(out)

# Compound surnames (复姓) that take two characters in a 称呼.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 令狐 端木 "
    "轩辕 独孤 南宫 西门 百里 呼延 澹台 公冶 太史 申屠 闻人 赫连 万俟 钟离 宗政 濮阳 "
    "淳于 单于 仲孙 亓官 司寇 子车 颛孙 巫马 公西 漆雕 乐正 壤驷 公良 拓跋 夹谷 宰父 "
    "谷梁 段干 百里 东郭 南门 羊舌 微生 梁丘 左丘 东门 第五".split()
)

# Default template for every task kind; the template name is the task kind. A care
# template has several variants (seed 000: never mass-worded); each client gets one
# per month (`pick`), so two clients, or two months, do not read the same.
DEFAULT_TEMPLATES: dict[str, str | tuple[str, ...]] = {
    "承诺反馈": "{{称呼}}您好，我是{{顾问}}。您之前关心的事情有了结果，我稍后给您去电详细说明。",
    "来电路线": ("{{称呼}}您好，我是{{顾问}}，感谢您的来电！我们的地址是{{地址}}，"
             "来之前给我打个电话，我在门口等您。"),
    "来访感谢": "{{称呼}}您好，我是{{顾问}}。感谢您今天抽空来访，有任何问题随时找我，祝您生活愉快！",
    "成交祝贺": "{{称呼}}您好，恭喜您今天顺利签约！我是{{顾问}}，后续手续我会全程跟进，有事随时联系我。",
    "生日祝福": (
        "{{称呼}}您好，今天是您的生日，{{顾问}}祝您生日快乐，身体健康，万事如意！",
        "{{称呼}}，生日快乐！新的一岁愿您心想事成、平安喜乐。——{{顾问}}",
        "{{称呼}}您好，我是{{顾问}}。在您生日这天送上一份祝福，愿您和家人幸福美满！",
    ),
    "生日邀请": "{{称呼}}您好，{{日期}}是您的生日，{{顾问}}想邀请您参加我们为您准备的小小庆祝，方便的话回个电话？",
    "家人关怀": (
        "{{称呼}}您好，{{日期}}是{{事项}}，{{顾问}}提前送上祝福，祝全家幸福安康！",
        "{{称呼}}您好，我是{{顾问}}。记得{{日期}}是{{事项}}，提前向您和家人道一声祝贺！",
    ),
    "节日祝福": (
        "{{称呼}}您好，{{节日}}将至，{{顾问}}祝您和家人节日快乐，阖家幸福！",
        "{{称呼}}，{{节日}}快乐！感谢您一直以来的信任，{{顾问}}祝您假期愉快、万事顺意。",
        "{{称呼}}您好，我是{{顾问}}。{{节日}}到了，给您和家人拜个节，祝一切安好！",
    ),
    "日常关怀": (
        "{{称呼}}您好，我是{{顾问}}。有一阵没跟您问候了，您和家人一切都好吧？有需要随时找我。",
        "{{称呼}}您好，我是{{顾问}}。项目最近有新动态，我会第一时间告诉您；也祝您工作顺利！",
        "{{称呼}}您好，{{顾问}}给您问个好。如果您身边有朋友需要咨询，我很乐意帮忙。",
        "{{称呼}}您好，我是{{顾问}}。感谢您一直以来的支持，有任何问题欢迎随时联系我。",
    ),
    "维护电话": "{{称呼}}您好，我是{{顾问}}，好久没联系了，最近一切都好吗？",
    "转介绍联系": "{{称呼}}您好，我是{{顾问}}，您的朋友向我推荐了您，想跟您简单聊几句，您看什么时候方便？",
    "转介绍反馈": "{{称呼}}您好，我是{{顾问}}。您推荐的朋友我已经联系上了，特向您反馈，感谢您的信任！",
    "转介绍感谢": "{{称呼}}您好，您推荐的朋友已经顺利成交，{{顾问}}特别感谢您的支持！",
    "唤醒沉睡": "{{称呼}}您好，我是{{顾问}}，好久不见！最近我们有一些新的优惠和服务，想跟您分享一下。",
    "坚持跟进": "{{称呼}}您好，我是{{顾问}}，上次聊的事情您考虑得怎么样了？有问题随时找我。",
    "满意度回访": "{{称呼}}您好，我是{{顾问}}，成交已经一个月了，想听听您对我们服务的意见和建议。",
    "投诉跟进": "{{称呼}}您好，我是{{顾问}}，关于您反映的问题，我们正在处理，今天给您回电说明进展。",
    "补全资料": "{{称呼}}您好，我是{{顾问}}。为了给您提供更贴心的服务，想跟您核对一下联系方式和基本信息，您看什么时候方便？",
    "争取关键人": "{{称呼}}您好，我是{{顾问}}。上次跟您汇报的方案，想再当面听听您的看法和顾虑，您看这周哪天方便，我过去拜访您？",
    "关键人生日": "{{称呼}}，今天是您的生日，{{顾问}}祝您生日快乐、身体健康、工作顺心！也谢谢您一直以来对我们工作的关照。",
    "活动邀请": "{{称呼}}您好，我是{{顾问}}。{{活动日期}}我们办「{{活动}}」{% if 地点 %}，地点在{{地点}}{% endif %}，"
              "特别想请您来参加。您方便的话回我一声，我给您留好位置。",
    "请求转介绍": "{{称呼}}，这段时间下来，您觉得我们的服务怎么样？（等对方回应）谢谢您的认可，能为您服务是我的荣幸。"
               "您身边的亲戚、朋友或同事，有没有最近也有这方面需要的？方便的话告诉我他的姓名、电话和在哪儿工作，"
               "我先记下来。还有其他朋友可以介绍吗？真是太感谢您了！我跟您的朋友联系之后，第一时间给您反馈。",
    # Several Saturday texts: a key client reads a different one each week (drafts.pick).
    "周末短信": (
        "{{称呼}}，周末好！忙了一周，好好陪陪家人、歇一歇。我是{{顾问}}，有什么需要随时找我。",
        "{{称呼}}您好，又到周末了，{{顾问}}祝您和家人周末愉快！出门的话路上注意安全。",
        "{{称呼}}，这周辛苦了！周末抽空出去走走、放松一下。有什么事您说一声，{{顾问}}随时都在。",
        "{{称呼}}，周末好！天气多变，注意身体。{{顾问}}祝您周末轻松，一切顺利。",
    ),
}


def variants(body: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (body,) if isinstance(body, str) else tuple(body)


_ENV = BoundedEnvironment(undefined=StrictUndefined, autoescape=False)
_DEFAULT_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)  # shipped texts only


def plain_parts(env, source: str) -> tuple | None:
    """A template made only of text, `{{ 变量 }}` and `{% if 变量 %}…{% else %}…{% endif %}`
    as parts in the order Jinja2 would output them: (False, text), (True, name) or
    (name, parts if true, parts if false); None for anything else (filters, loops, …).

    Such a template renders by joining strings, 20 times faster than through Jinja2
    (a week of 100,000 clients renders ~170,000 drafts); nothing in it can run code.
    """
    try:
        tree = env.parse(source)
    except TemplateError:
        return None
    return _plain_nodes(tree.body)


def _plain_nodes(body: list) -> tuple | None:
    parts: list[tuple] = []
    for node in body:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    parts.append((False, child.data))
                elif isinstance(child, nodes.Name) and child.ctx == "load":
                    parts.append((True, child.name))
                else:
                    return None
        elif (isinstance(node, nodes.If) and isinstance(node.test, nodes.Name) and node.test.ctx == "load"
              and not node.elif_):
            then, otherwise = _plain_nodes(node.body), _plain_nodes(node.else_)
            if then is None or otherwise is None:
                return None
            parts.append((node.test.name, then, otherwise))
        else:
            return None
    return tuple(parts)


def _join(parts: tuple, variables: dict[str, object], out: list[str] | None = None) -> str | None:
    """`parts` with the variables filled in; None when one is missing (Jinja2 says why)."""
    top = out is None
    out = [] if out is None else out
    for part in parts:
        if part[0] is False:
            out.append(part[1])
        elif part[0] is True:
            if part[1] not in variables:
                return None
            value = variables[part[1]]
            out.append(value if value.__class__ is str else str(value))
        else:  # {% if name %}: Python's truth of the value, as Jinja2 tests it
            if part[0] not in variables:
                return None
            if _join(part[1] if variables[part[0]] else part[2], variables, out) is None:
                return None
    return "".join(out) if top else ""


def salutation(name: str | None, gender: str | None) -> str:
    """王先生 / 李女士 / 欧阳女士; the full name when the gender is unknown; "" without a name."""
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        return ""  # "{{称呼}}您好" then reads "您好"
    if gender not in ("男", "女"):
        return name
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[:1]
    return surname + ("先生" if gender == "男" else "女士")


class Messages:
    """Compiled templates for one workbook; `render(kind, variables)` never raises."""

    def __init__(self, templates: dict[str, str | list[str]] | None = None, sheet: str = "短信模板",
                 rows: dict[str, int] | None = None) -> None:
        """`templates`: name -> body, or several bodies (rows with the same 模板名 are variants)."""
        self.findings: list[Finding] = []
        self._compiled: dict[str, list] = {}
        self._sheet = sheet
        self._rows = rows or {}
        merged = {k: variants(v) for k, v in DEFAULT_TEMPLATES.items()}
        merged.update({k: tuple(b for b in variants(v) if b) for k, v in (templates or {}).items()
                       if any(variants(v))})
        shipped = {b: _DEFAULT_ENV.from_string(b) for v in DEFAULT_TEMPLATES.values() for b in variants(v)}
        self._defaults = {k: [shipped[b] for b in variants(v)] for k, v in DEFAULT_TEMPLATES.items()}
        self._shipped = set(map(id, shipped.values()))
        self._plain: dict[int, tuple] = {}  # id(compiled template) -> its parts, when plain
        for body, template in shipped.items():
            self._remember_plain(_DEFAULT_ENV, body, template)
        for name, bodies in merged.items():
            for body in bodies:
                if body in shipped:
                    self._compiled.setdefault(name, []).append(shipped[body])
                    continue
                try:
                    _ENV.start()
                    template = _ENV.from_string(str(body)[:CELL_LIMIT])
                    self._compiled.setdefault(name, []).append(template)
                    self._remember_plain(_ENV, str(body)[:CELL_LIMIT], template)
                except TemplateError as exc:
                    self._report(name, f"模板「{name}」有语法错误({exc}),已使用默认文案")
                except (RecursionError, MemoryError, ArithmeticError, ValueError, TypeError) as exc:
                    self._report(name, f"模板「{name}」无法编译({type(exc).__name__}),已使用默认文案")

    def _remember_plain(self, env, source: str, template) -> None:
        parts = plain_parts(env, source)
        if parts is not None:
            self._plain[id(template)] = parts

    def _report(self, name: str, message: str, code: str = "template-invalid") -> None:
        cell = f"B{self._rows[name]}" if name in self._rows else ""
        finding = Finding(self._sheet, cell, message, "warning", code, "body")
        if finding not in self.findings:
            self.findings.append(finding)

    def render(self, kind: str, variables: dict[str, object], pick: int = 0) -> str:
        """The `pick`-th variant (modulo their number) of the kind's template."""
        compiled = self._compiled.get(kind)
        template = compiled[pick % len(compiled)] if compiled else None
        if template is not None and id(template) in self._plain:  # text and variables only
            text = _join(self._plain[id(template)], variables)
            if text is not None and len(text) <= CELL_LIMIT:
                return text
        if template is not None and id(template) not in self._shipped:
            try:
                return _ENV.render(template, variables)
            except BudgetError as exc:
                self._report(kind, f"模板「{kind}」超出限制({exc}),已使用默认文案")
            except TemplateError as exc:  # includes SecurityError from the sandbox
                self._report(kind, f"模板「{kind}」无法生成({type(exc).__name__}: {exc}),已使用默认文案")
            except RecursionError:
                self._report(kind, f"模板「{kind}」递归过深,已使用默认文案")
            except (TypeError, ValueError, ArithmeticError, LookupError, MemoryError) as exc:
                self._report(kind, f"模板「{kind}」无法生成({type(exc).__name__}: {exc}),已使用默认文案")
            template = None
        defaults = self._defaults.get(kind)
        if template is None:
            if not defaults:
                return ""
            template = defaults[pick % len(defaults)]
        try:
            text = template.render(variables)
        except TemplateError:
            return ""
        if len(text) > CELL_LIMIT:
            self._report(kind, f"「{kind}」短信超过 Excel 单元格 {CELL_LIMIT} 字上限(姓名或单位过长),已截断",
                         code="draft-too-long")
            return cap_text(text)
        return text


def variables(name: str | None, gender: str | None, agent: str | None, when: date,
              company: str | None = None, holiday: str = "", who: str = "", kind: str = "",
              event: str = "", address: str = "") -> dict:
    return {
        "称呼": salutation(name, gender), "姓名": name if isinstance(name, str) else "",
        "顾问": agent if isinstance(agent, str) else "",
        "节日": holiday, "日期": f"{when.month}月{when.day}日", "单位": company or "",
        "对象": who or "家人", "类型": kind or "纪念日", "事项": event or "您家的纪念日",
        "地址": address or "(请在规则「门店地址」填写)", "活动": "", "地点": "", "活动日期": "",
    }


def event_phrase(who: str, kind: str) -> str:
    """您妻子的生日 / 您的乔迁纪念日: what a 关怀日期 row celebrates, for 家人关怀 drafts."""
    label = {"家人生日": "生日", "乔迁": "乔迁纪念日", "升学": "升学之喜"}.get(kind, kind or "纪念日")
    return f"您{who}的{label}" if who else f"您的{label}"
