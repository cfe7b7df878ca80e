"""Check a workbook package before any reader touches it.

A reader trusts the package: python-calamine allocates the whole used range of a
sheet (a single cell at XFD1048576 asks for 17 billion cells and aborts the process),
and a 2 MB file can expand to gigabytes (a zip bomb in a sheet or in sharedStrings).
`check_package` streams every part once (that also verifies each CRC, which is what
`ZipFile.testzip` did) and refuses, with one line, a package that:

- is damaged (a bad deflate stream, a CRC mismatch, a truncated member);
- declares or expands to more than MAX_PART bytes in one part or MAX_TOTAL in all;
- compresses a big part more than MAX_RATIO times (real sheets compress 5-30 times);
- has a sheet whose used range (declared `<dimension>` or the cells actually
  present) spans more than MAX_CELLS cells.

It is separate from the reader so it survives a change of reader.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from openpyxl.utils.cell import column_index_from_string, range_boundaries

from .errors import WorkbookError

MAX_PART = 1 << 30  # bytes of one part, uncompressed
MAX_TOTAL = 3 << 30  # bytes of all parts, uncompressed
MAX_RATIO = 200  # uncompressed / compressed, for parts above RATIO_FLOOR
RATIO_FLOOR = 32 << 20
MAX_CELLS = 60_000_000  # rows x columns of one sheet's used range
CHUNK = 1 << 20

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([^"]+)"')
_WIDE_CELL = re.compile(rb' r="([A-Z]{2,3})([0-9]+)"')
_ROW = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="([0-9]+)"')


try:  # ISA-L inflates about twice as fast as zlib (the package guard inflates every part)
    from isal import isal_zlib as _inflate_lib
except ImportError:  # pragma: no cover - a platform without its wheel
    _inflate_lib = zlib

# What reading a damaged part raises (zipfile, zlib, a file cut short).
DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError)
_LOCAL = struct.Struct("<4s22xHH")  # local file header: signature … name length, extra length
Sink = Callable[[bytes, int, int], None]  # a checked chunk, the max row and column so far


def member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A part's bytes in pieces of at most CHUNK, its size and CRC-32 checked at the end.

    A deflated part is inflated from its raw bytes with ISA-L; anything else goes
    through zipfile. Raises zipfile.BadZipFile for a damaged part.
    """
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1 or not isinstance(zf.filename, str):
        with zf.open(info) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
        return
    with open(zf.filename, "rb") as raw:
        raw.seek(info.header_offset)
        header = raw.read(_LOCAL.size)
        if len(header) < _LOCAL.size:
            raise zipfile.BadZipFile(f"{info.filename}: truncated local header")
        sig, name_len, extra_len = _LOCAL.unpack(header)
        if sig != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"{info.filename}: bad local header")
        raw.seek(info.header_offset + _LOCAL.size + name_len + extra_len)
        inflate = _inflate_lib.decompressobj(-15)
        left, size, crc = info.compress_size, 0, 0
        while not inflate.eof:
            data = inflate.unconsumed_tail
            if not data and left > 0:
                data = raw.read(min(CHUNK, left))
                if not data:
                    raise EOFError(f"{info.filename}: truncated")
                left -= len(data)
            try:
                # With no input left this drains what the inflater still holds: ISA-L takes
                # all its input at once and keeps back output beyond max_length.
                chunk = inflate.decompress(data, CHUNK)
            except _inflate_lib.error as exc:
                raise zipfile.BadZipFile(f"{info.filename}: {exc}") from None
            if chunk:
                size += len(chunk)
                if size > info.file_size:
                    raise zipfile.BadZipFile(f"{info.filename}: longer than declared")
                crc = _inflate_lib.crc32(chunk, crc)
                yield chunk
            elif not data:
                break  # input used up and nothing more comes out: a truncated stream
        if size != info.file_size or crc != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB"


def _declared_cells(ref: bytes) -> int:
    try:
        lo_col, lo_row, hi_col, hi_row = range_boundaries(ref.decode("ascii"))
    except (ValueError, TypeError, UnicodeDecodeError):
        return 0
    if None in (lo_col, lo_row, hi_col, hi_row):
        return 0
    return (hi_row - lo_row + 1) * (hi_col - lo_col + 1)


_CELL_START = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3}[0-9]+)"')
MAX_ODD = 1000  # odd cells remembered per sheet


def _odd_cells(data: bytes, found: dict[str, str]) -> None:
    """Error values (#REF!, #N/A …) and formulas without a cached value: a reader sees them as blank."""
    for marker in (b't="e"', b"</f></c>", b"/></c>"):
        at = data.find(marker)
        while at >= 0 and len(found) < MAX_ODD:
            start = max(data.rfind(b"<c ", 0, at), data.rfind(b":c ", 0, at))
            m = _CELL_START.match(data, start if data[start:start + 1] == b"<" else start - 1) if start >= 0 else None
            if m is not None:
                ref = m.group(1).decode()
                if marker == b't="e"':
                    v = re.match(rb'[^>]*>\s*<(?:\w+:)?v>([^<]{1,20})<', data[at:at + 200])
                    found.setdefault(ref, f"错误值 {v.group(1).decode(errors='replace')}" if v else "错误值")
                elif marker == b"</f></c>" or data.rfind(b"<f", start, at) > 0 or data.rfind(b":f", start, at) > 0:
                    if b"<v>" not in data[start:at] and b":v>" not in data[start:at]:
                        found.setdefault(ref, "公式没有计算结果(请在 Excel 中打开并保存一次)")
            at = data.find(marker, at + 1)


def _scan_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path,
                odd: dict[str, str] | None = None, sink: Sink | None = None) -> tuple[int, int, int]:
    """(bytes read, max row, max column) of a worksheet part, streamed; odd cells into `odd`;
    each chunk, once checked, to `sink` with the extent of the cells seen so far."""
    size = max_row = max_col = 0
    declared = 0
    tail = b""
    for chunk in member_chunks(zf, info):
        size += len(chunk)
        if size > MAX_PART:
            raise WorkbookError(f"{path}: 工作表 {info.filename} 解压后超过 {_mb(MAX_PART)},拒绝读取(可能是压缩炸弹)")
        data = tail + chunk
        if size == len(chunk):
            m = _DIMENSION.search(data, 0, 4096)
            declared = _declared_cells(m.group(1)) if m else 0
            if declared > MAX_CELLS:
                raise WorkbookError(f"{path}: 工作表 {info.filename} 声明的范围 {m.group(1).decode()} "
                                    f"约 {declared:,} 个单元格,太大,拒绝读取")
        for m in _WIDE_CELL.finditer(data):
            max_col = max(max_col, column_index_from_string(m.group(1).decode()))
            max_row = max(max_row, int(m.group(2)))
        if odd is not None:
            _odd_cells(data, odd)
        # The chunk's last row tag: in its last 4 KB as a rule (a row is a few hundred bytes).
        rows = _ROW.findall(data, max(0, len(data) - 4096)) or _ROW.findall(data, max(0, len(data) - 65536))
        if rows:
            max_row = max(max_row, int(rows[-1]))
        tail = data[-256:]
        if sink is not None:
            sink(chunk, max_row, max(max_col, 26 if max_row else 0))
    return size, max_row, max(max_col, 26 if max_row else 0)


def check_sizes(zf: zipfile.ZipFile, path: Path) -> None:
    """The central directory's declared sizes and ratios (no part is inflated)."""
    total = 0
    for info in zf.infolist():
        if info.file_size > MAX_PART:
            raise WorkbookError(f"{path}: {info.filename} 解压后有 {_mb(info.file_size)},超过上限 "
                                f"{_mb(MAX_PART)},拒绝读取(可能是压缩炸弹)")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookError(f"{path}: {info.filename} 压缩比 {info.file_size // max(info.compress_size, 1)}:1"
                                f" 异常,拒绝读取(可能是压缩炸弹)")
        total += info.file_size
    if total > MAX_TOTAL:
        raise WorkbookError(f"{path}: 解压后共 {_mb(total)},超过上限 {_mb(MAX_TOTAL)},拒绝读取")


def is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


def within_limits(rows: int, cols: int) -> bool:
    """Cells up to (rows, cols) are inside Excel's grid and span few enough cells to read."""
    return rows <= 1_048_576 and cols <= 16_384 and rows * cols <= MAX_CELLS


def check_extent(path: Path, part: str, rows: int, cols: int) -> None:
    """WorkbookError when a sheet's cells reach beyond Excel's grid or span too many cells."""
    if within_limits(rows, cols):
        return
    if rows > 1_048_576 or cols > 16_384:
        raise WorkbookError(f"{path}: 工作表 {part} 有单元格超出 Excel 的表格范围"
                            f"(第 {rows:,} 行 / 第 {cols:,} 列),文件已损坏")
    if rows * cols > MAX_CELLS:
        raise WorkbookError(f"{path}: 工作表 {part} 的单元格范围约 {rows:,} 行 × {cols:,} 列,"
                            f"太大,拒绝读取(请删除远处的空单元格)")


def scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path,
              odd_cells: bool = True, sink: Sink | None = None) -> tuple[int, dict[str, str]]:
    """Stream one part: (bytes it expands to, odd cells of a worksheet); WorkbookError (one
    line) for a damaged part, one that expands too far, or a sheet whose cells span too much.

    Parts can be scanned in any order and in parallel (each with its own ZipFile); a
    worksheet must be scanned before a reader opens it. Without `odd_cells` the scan
    only makes the part safe to read (`odd_cells_of` can look for them meanwhile). A
    `sink` gets a worksheet's chunks as they are checked (io/halves cuts the sheet).
    """
    odd: dict[str, str] = {}
    try:
        if is_worksheet(info.filename):
            size, rows, cols = _scan_sheet(zf, info, path, odd if odd_cells else None, sink)
            check_extent(path, info.filename, rows, cols)
            return size, odd
        size = 0
        for chunk in member_chunks(zf, info):
            size += len(chunk)
            if size > MAX_PART:
                raise WorkbookError(f"{path}: {info.filename} 解压后超过 {_mb(MAX_PART)},拒绝读取")
        return size, odd
    except WorkbookError:
        raise
    except DAMAGED as exc:
        raise damaged(path, exc) from None


def odd_cells_of(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> dict[str, str]:
    """A worksheet's error values and formulas without a cached value (see `_odd_cells`)."""
    odd: dict[str, str] = {}
    tail = b""
    try:
        for chunk in member_chunks(zf, info):
            data = tail + chunk
            _odd_cells(data, odd)
            tail = data[-256:]
    except DAMAGED as exc:
        raise damaged(path, exc) from None
    return odd


def damaged(path: Path, exc: BaseException) -> WorkbookError:
    return WorkbookError(f"{path}: 文件已损坏({type(exc).__name__}: {exc})")


def check_total(read: int, path: Path) -> None:
    if read > MAX_TOTAL:
        raise WorkbookError(f"{path}: 解压后超过 {_mb(MAX_TOTAL)},拒绝读取")


def check_package(path: str | Path) -> dict[str, dict[str, str]]:
    """Raise WorkbookError (one line) for a package too damaged or too big to read safely.

    Returns, by worksheet part, the cells a reader would see as blank although they
    hold something: error values (#REF!, #N/A) and formulas without a cached value
    (A1 reference -> what it is), so the loader can report them.
    """
    path = Path(path)
    odd_by_part: dict[str, dict[str, str]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            check_sizes(zf, path)
            read = 0
            for info in zf.infolist():
                if info.is_dir():
                    continue
                size, odd = scan_part(zf, info, path)
                if odd:
                    odd_by_part[info.filename] = odd
                read += size
                check_total(read, path)
    except WorkbookError:
        raise
    except DAMAGED as exc:
        raise damaged(path, exc) from None
    return odd_by_part
