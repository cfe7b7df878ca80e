"""`xlcrm validate`: every finding kind names the right sheet and cell; exit codes 0/1/2."""

from __future__ import annotations

import zipfile
from datetime import date

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlcrm.io import schema

from .conftest import client, make_workbook, run_cli


def test_sample_is_clean(sample_path):
    result = run_cli("validate", sample_path)
    assert result.returncode == 0, result.stderr
    assert "没有错误" in result.stdout and "客户 300" in result.stdout


def _findings(path):
    result = run_cli("validate", path)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def test_each_row_finding_names_sheet_and_cell(tmp_path):
    path = make_workbook(
        tmp_path / "bad.xlsx",
        clients=[client("K1"), client("K1", name="重复"), client("K2", agent="不存在的人"),
                 client("K3", name=None), client("K4", gender="男性"),
                 client("K5", birthday="1990-13-01")],
        contacts=[{"client_id": "K9", "date": date(2026, 1, 1), "channel": "电话"},
                  {"client_id": "K1", "date": "2024-13-01", "channel": "电话"},
                  {"client_id": "K1", "date": date(2026, 1, 1), "channel": "飞鸽"}],
        key_dates=[{"client_id": "K8", "kind": "纪念日", "date": date(2000, 5, 1)}],
        referrals=[{"referral_id": "T1", "referrer_id": "K1", "referred_name": "王小明",
                    "date": date(2026, 1, 1), "referred_client_id": "K1"},
                   {"referral_id": "T2", "referrer_id": "K7", "referred_name": "某",
                    "date": date(2026, 1, 1)}],
    )
    code, err = _findings(path)
    assert code == 1
    expected = [
        "客户!A3: 客户编号 'K1' 重复(第 2 行已有)",
        "客户!E4: 负责顾问 '不存在的人' 不在「顾问」表中",
        "客户!B5: 必填项「姓名」为空",
        "客户!C6: 性别 '男性' 不在可选值(男/女)中",
        "客户!I7: 生日 '1990-13-01' 不是日期(可写 1990-03-15 或 03-15)",
        "跟进记录!A2: 客户编号 'K9' 在「客户」表中不存在",
        "跟进记录!B3: 日期 '2024-13-01' 不是日期",
        "跟进记录!D4: 方式 '飞鸽' 不在可选值",
        "关怀日期!A2: 客户编号 'K8' 在「客户」表中不存在",
        "转介绍!B2: 推荐人 'K1' 推荐了自己",
        "转介绍!B3: 推荐人编号 'K7' 在「客户」表中不存在",
    ]
    for line in expected:
        assert line in err, f"missing {line!r} in\n{err}"


def test_missing_sheet_and_missing_required_column(tmp_path):
    path = make_workbook(tmp_path / "wb.xlsx", clients=[client("K1")])
    wb = openpyxl.load_workbook(path)
    del wb["转介绍"]
    wb["跟进记录"]["D1"] = "渠道"  # the required 方式 header renamed
    wb.save(path)
    code, err = _findings(path)
    assert code == 1
    assert "转介绍: 缺少工作表「转介绍」(Referrals)" in err
    after_last = openpyxl.utils.cell.get_column_letter(len(schema.CONTACTS.columns) + 1)
    assert f"跟进记录!{after_last}1: 缺少必填列「方式」(channel)" in err


def test_unknown_extra_columns_are_fine(tmp_path):
    path = make_workbook(tmp_path / "wb.xlsx", clients=[client("K1")])
    wb = openpyxl.load_workbook(path)
    wb["客户"]["Z1"] = "微信号"
    wb["客户"]["Z2"] = "wx123"
    wb.save(path)
    assert _findings(path)[0] == 0


@pytest.mark.parametrize("content", [b"", b"hello", b"PK\x03\x04 not really a zip",
                                     b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600])
def test_not_a_workbook_exits_2_with_one_line(tmp_path, content):
    path = tmp_path / "x.xlsx"
    path.write_bytes(content)
    code, err = _findings(path)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("错误:")


def test_missing_file_and_truncated_zip_exit_2(tmp_path, sample_path):
    assert _findings(tmp_path / "nope.xlsx")[0] == 2
    truncated = tmp_path / "t.xlsx"
    truncated.write_bytes(sample_path.read_bytes()[:30000])
    code, err = _findings(truncated)
    assert code == 2 and "错误" in err


def test_a_zip_that_is_not_a_workbook_exits_2(tmp_path):
    path = tmp_path / "z.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    code, err = _findings(path)
    assert code == 2 and "xl/workbook.xml" in err


def test_corrupt_sheet_inside_zip_exits_2(tmp_path, sample_path):
    path = tmp_path / "c.xlsx"
    with zipfile.ZipFile(sample_path) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            dst.writestr(info, data)
    code, err = _findings(path)
    assert code == 2 and "Traceback" not in err


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.none(), st.floats(allow_nan=True), st.integers(0, 10**12).map(float),
    st.from_regex(r"(\+86 ?|0086|86|\+1 )?1[0-9]{10}( |-)?", fullmatch=True),
    st.from_regex(r"\+86 1[3-9][0-9]{9}", fullmatch=True), st.text(max_size=15)), max_size=30))
def test_mobile_keys_match_mobile_key_one_by_one(values):
    """The vectorised duplicate check reads each 手机 exactly as `mobile_key` does."""
    from xlcrm.io.phones import mobile_key, mobile_keys

    assert list(mobile_keys(pd.Series(values, dtype=object))) == [mobile_key(v) for v in values]
