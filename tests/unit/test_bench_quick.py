"""The benchmark stub runs end to end (``python -m bench --quick``, here with tiny sizes)
and writes A1, A2 and A3 with numeric figures and ratios. Whether the targets are met is
the benchmark's business, not this test's: no timing is asserted."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.__main__ import main


def test_the_quick_harness_writes_a1_a2_a3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "latest.json"

    code = main(
        [
            "--quick",
            "--events",
            "80",
            "--large",
            "2048",
            "--small",
            "1000",
            "--rounds",
            "10",
            "--repeat",
            "1",
            "--output",
            str(output),
        ]
    )

    assert code == 0
    results = json.loads(output.read_text(encoding="utf-8"))
    assert set(results) == {"A1", "A2", "A3"}
    for result_id, result in results.items():
        assert result["id"] == result_id
        assert {"figure", "baseline", "ratio", "target", "met", "cpu_count"} <= set(result)
        for name in ("figure", "baseline", "ratio"):
            assert isinstance(result[name], float) and math.isfinite(result[name]) and result[name] > 0, name
        assert isinstance(result["met"], bool)
        assert isinstance(result["cpu_count"], int) and result["cpu_count"] >= 1
        assert result["details"]["quick"] is True
    assert results["A1"]["details"]["events"] == 80
    assert results["A2"]["details"]["large"] == 2048 and results["A3"]["details"]["small"] == 1000
    printed = capsys.readouterr().out
    for result_id in ("A1", "A2", "A3"):
        assert result_id in printed
    assert "ratio" in printed and "target" in printed and "met" in printed
