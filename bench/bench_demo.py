"""Demo generator benchmark: writing the synthetic county's 253 CSV extracts (Apr 2022 – Mar 2025).

Was a timed test (``test_fast``, ≤ 5 s), which failed whenever the machine was busy; a goal belongs here.
Run: ``.venv/bin/python bench/bench_demo.py``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from metrics import demo


def main() -> None:
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            paths = demo.generate(Path(d))
            times.append(time.perf_counter() - t)
    print(f"demo generator: {len(paths)} files, best of 3 {min(times):.2f} s (runs: "
          + ", ".join(f"{x:.2f}" for x in times) + ")   [goal ≤ 5 s]")


if __name__ == "__main__":
    main()
