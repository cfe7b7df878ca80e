"""Refresh, weekly and the sample are cell-identical to the outputs committed before issue 17.

tests/data/golden_300.json.gz was written by `python -m tests.golden` with the previous
implementation (python-calamine loader, cell-by-cell sample writer); this test writes the
same 300-client sample, refreshes it and runs weekly with the current code and compares
every cell value, number format, merged range, table, validation and conditional format.
"""

from __future__ import annotations

import gzip
import json

import pytest

from tests.golden import GOLDEN, TODAY, outputs


def _diff(expected, actual, where="", out=None):
    out = [] if out is None else out
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in actual or key not in expected:
                out.append(f"{where}/{key}: {'missing' if key not in actual else 'unexpected'}")
            else:
                _diff(expected[key], actual[key], f"{where}/{key}", out)
    elif expected != actual:
        out.append(f"{where}: expected {expected!r}, got {actual!r}")
    return out


@pytest.fixture(scope="module")
def golden():
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def current(tmp_path_factory):
    return outputs(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("part", ["sample", "refresh", "weekly"])
def test_outputs_identical_to_before(golden, current, part):
    diff = _diff(golden[part], current[part], part)
    assert not diff, f"{len(diff)} differences, first: " + "\n".join(diff[:20])


def test_the_snapshot_sees_cells(golden):
    # The comparison would be empty-vs-empty if the snapshot missed the data.
    assert len(golden["sample"]["跟进记录"]["cells"]) > 15_000
    assert len(golden["refresh"]["客户看板"]["cells"]) > 2_000
    assert len(golden["weekly"]) >= 4  # 3 working agents and the team summary


def test_the_bulk_written_sample_reads_the_same_everywhere(tmp_path):
    # io.bulk writes the sample's rows as XML itself: strict XML, openpyxl (normal and
    # read-only), python-calamine and LibreOffice must all read the same cells.
    from xlcrm.io.sample import write_sample

    from .filecheck import check_file

    path = write_sample(tmp_path / "s.xlsx", 40, 5, 1, TODAY) and tmp_path / "s.xlsx"
    rows = check_file(path)
    assert any(len(r) > 40 for r in rows.values())
