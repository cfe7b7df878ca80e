"""Phone numbers the way offices type them, normalised for 客户!手机.

Mobiles come as `138-0013-8000`, `+86 13800138000`, `0086 138 0013 8000`,
`(+86)13800138000`, full-width digits, or as a number cell (13800138000.0); all
become `13800138000`. Landlines (`0759-3385375`, a bare 7-8 digit local number)
are kept as typed. A cell with two numbers (`138…/139…`) gives the first as the
phone and the others back separately, so they can go to 备注 instead of being lost.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(?:0\d{2,3})?[2-9]\d{6,7}(?:(?:转|ext|x|#)\d{1,6})?$")
_SPLIT = re.compile(r"[/,，;；、|\n\\]+|\s{2,}|(?<=\d{11})\s+(?=1[3-9]\d)")
_JUNK = re.compile(r"[\s\-–—()（）.·+]")


@dataclass(frozen=True)
class Phone:
    text: str | None  # what goes into 手机
    mobile: str | None  # the 11-digit mobile, for duplicate checks
    others: tuple[str, ...] = ()  # further numbers found in the same cell
    recognised: bool = True  # False: kept as typed, not a phone we understand


def mobile_of(text: str) -> str | None:
    """The 11-digit mainland mobile in one number as typed, or None."""
    digits = _JUNK.sub("", unicodedata.normalize("NFKC", text))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
    return digits if _MOBILE.match(digits) else None


_FOREIGN = re.compile(r"^\+(?!86)[1-9][\d\s\-()]{6,18}$")


def _one(part: str) -> tuple[str | None, str | None]:
    """(text to keep, mobile) for one number, or (None, None) when it is not a phone."""
    part = unicodedata.normalize("NFKC", part).strip()
    if _FOREIGN.match(part) or part.startswith("00") and not part.startswith("0086"):
        return part, None  # a number abroad: kept as typed
    mobile = mobile_of(part)
    if mobile:
        return mobile, mobile
    compact = _JUNK.sub("", unicodedata.normalize("NFKC", part)).lower()
    if _LANDLINE.match(compact):
        return part, None
    return None, None


def parse_phone(value: object) -> Phone:
    """A 手机 cell as typed (text or number) -> Phone."""
    if value is None or isinstance(value, bool):
        return Phone(None, None)
    if isinstance(value, float):
        if value != value:
            return Phone(None, None)
        value = str(int(value)) if value.is_integer() else str(value)
    text = str(value).strip()
    if not text:
        return Phone(None, None)
    keep, mobile = _one(text)
    if keep is not None:
        return Phone(keep, mobile)
    parts = [p.strip() for p in _SPLIT.split(text) if p and p.strip()]
    found: list[tuple[str, str | None]] = []
    for part in parts:
        keep, mobile = _one(part)
        if keep is None:
            return Phone(text, mobile_of(text), (), False)
        found.append((keep, mobile))
    if not found:
        return Phone(None, None)
    first, mobile = found[0]
    return Phone(first, mobile, tuple(k for k, _ in found[1:]))


def mobile_key(value: object) -> str | None:
    """The mobile of a stored 手机 value, for duplicate checks (None for landlines/blank)."""
    return parse_phone(value).mobile


_PLAIN_MOBILE = r"(?:\+86 ?)?1[3-9][0-9]{9}"


def mobile_keys(phones: pd.Series) -> np.ndarray:
    """`mobile_key` of each value; the usual shapes (13800138000, +86 13800138000) at once."""
    out = np.full(len(phones), None, dtype=object)
    text = phones.to_numpy(dtype=object)
    is_text = np.fromiter((v.__class__ is str for v in text), dtype=bool, count=len(text))
    plain = np.zeros(len(text), dtype=bool)
    if is_text.any():
        plain[is_text] = pd.Series(text[is_text], dtype=object).str.fullmatch(_PLAIN_MOBILE).fillna(
            False).to_numpy(dtype=bool)
    out[plain] = [v[-11:] for v in text[plain]]
    for i in np.flatnonzero(~plain):
        out[i] = mobile_key(text[i])
    return out
