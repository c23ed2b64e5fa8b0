"""Synthetic item records (their JSON shape, :mod:`pytest_promptcheck.runs.record`) for report tests that need thousands of cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_promptcheck.config import ProjectConfig
from pytest_promptcheck.runs.record import ItemRecord
from pytest_promptcheck.runs.summary import RunSummary, build_summary


def record(case: str, model: str, side: str, passed: bool, output: str, tags: list[str]) -> dict[str, Any]:
    call = {
        "sample": 0, "binding": {}, "messages": [{"role": "user", "content": f"question {case}"}], "params": {},
        "seed": 0, "output": output, "finish_reason": "stop", "usage": {"input_tokens": 12, "output_tokens": 30},
        "latency_ms": 100.0, "cost": None, "cached": False, "passed": passed, "score": float(passed),
        "assertions": [{"name": "contains 'ok'", "passed": passed, "score": float(passed),
                        "reason": "found" if passed else "'ok' not found", "weight": 1.0, "details": None}],
    }  # fmt: skip
    return {
        "version": 1, "item": f"big.prompts.yaml::{case}[{model}]", "suite": "big.prompts.yaml", "case": case,
        "variant": "p", "model": model, "provider": "python", "served": "python:x", "side": side, "tags": tags,
        "ideal": None, "outcome": "passed" if passed else "failed", "error": None, "threshold": None,
        "min_pass": None, "calls": [call], "suite_metrics": {},
    }  # fmt: skip


def big_run(cases: int) -> tuple[RunSummary, list[ItemRecord]]:
    """``cases`` cases on base and tuned: every 7th regresses, every 11th improves; outputs ~60 words."""
    records = []
    for i in range(cases):
        base_ok, tuned_ok = i % 7 != 0 or i % 11 == 0, i % 11 != 3
        text = " ".join(f"word{(i * j) % 97}" for j in range(60))
        tags = ["critical"] if i % 50 == 0 else [f"topic{i % 5}"]
        base = record(f"c{i:05d}", "base", "baseline", base_ok, f"ok {text}" if base_ok else text, tags)
        tuned = f"ok {text} extra" if tuned_ok else f"{text} changed"
        cand = record(f"c{i:05d}", "tuned", "candidate", tuned_ok, tuned, tags)
        records += [ItemRecord.from_json(base), ItemRecord.from_json(cand)]
    project = ProjectConfig(root=Path("."), baseline="base", candidate="tuned")
    return build_summary(records, project, enforced=True), records
