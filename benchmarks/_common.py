"""Shared by the benchmarks: the 100,000-client workbook and a timer."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
BIG = OUT / "big.xlsx"
CLIENTS, AGENTS, TODAY = 100_000, 200, "2026-11-23"


def generate(path: Path = BIG, clients: int = CLIENTS, agents: int = AGENTS) -> float:
    """Write the big sample with the CLI; returns the seconds it took."""
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "xlcrm", "sample", str(path), "--clients", str(clients),
                    "--agents", str(agents), "--seed", "1", "--today", TODAY], check=True)
    return time.perf_counter() - start


def ensure_big() -> Path:
    if not BIG.exists():
        print(f"generating {BIG} ({CLIENTS} clients, {AGENTS} agents) …", flush=True)
        print(f"  {generate():.1f} s")
    return BIG


@contextmanager
def timed(label: str, store: dict[str, float]):
    start = time.perf_counter()
    yield
    store[label] = time.perf_counter() - start
    print(f"{label:<48} {store[label]:8.1f} s", flush=True)
