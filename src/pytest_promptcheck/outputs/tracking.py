"""What ``--pc-mlflow`` logs for one run: params, metrics and tags, scrubbed, with keys MLflow accepts.

Pure (no MLflow import): :mod:`..listeners.mlflow_tracker` sends a :class:`TrackedRun` through
MLflow's client. Built from the run's summary and metrics (the same numbers every report shows) and
its finished manifest (models, seed, suites, git, and what the candidate's checkpoint carries:
its lineage file, trainer and adapter files, :mod:`..runs.checkpoint`). Every value and key passes
the session's redactor first: a secret in a model's params or a suite's tag must not reach the
tracking server either.

Keys (``<m>``: a model, ``<t>``: a case tag)::

    params   models, suites, seed, repeat, baseline, candidate, gate/<key>, gate/enforced,
             model/<m>/provider, model/<m>/served, model/<m>/params
    metrics  model/<m>/pass_rate (+ _low, _high: the Wilson 95% interval), passed, judged, errors, calls,
             consistency, pass_at_1, pass_hat_k, bias_gap, bias_change_rate, latency_p50_ms,
             latency_p95_ms, ttft_p50_ms, ttft_p95_ms (streamed calls), input_tokens, output_tokens, cost_usd; tag/<t>/<m>/… the same per tag;
             gate/pass (1 or 0), gate/exit_status, gate/delta_low, gate/delta_high, gate/p_value
    tags     promptcheck.run_id, .exit_status, .plugin_version, .gate.verdict, .gate.rule,
             .candidate, .candidate.sha256, .lineage.id, .lineage.checkpoint, .lineage.exports,
             .lineage.export_runs, .lineage.base_model, .lineage.base_model_sha256, .lineage.seed,
             .training.<param> (lineage parameters, training_args, adapter_config); mlflow.source.git.commit

The candidate (or, without one, the only model that ran) is the model whose lineage the tags carry;
absent metrics (no repeats: no consistency; no ``counterfactual``: no bias) are left out, not zero.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..config import ProjectConfig
from ..runs import metrics
from ..runs.gate import GateVerdict
from ..runs.metrics import Metrics
from ..runs.record import ItemRecord
from ..runs.summary import RunSummary
from .redact import Redactor

MAX_KEY = 250  # MLflow's limits (mlflow.utils.validation); longer values MLflow would cut with a warning
MAX_PARAM = 6000
MAX_TAG = 8000
_BAD_KEY_CHARS = re.compile(r"[^\w.\- ]")  # what MLflow accepts in a key segment ("/" separates segments)


@dataclass(frozen=True)
class TrackedRun:
    """One promptcheck run as MLflow entities: string params and tags, float metrics."""

    name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    start_ms: int | None = None
    end_ms: int | None = None


Key = tuple[str, ...]  # a key's segments, as written (a model or tag name may hold anything)


def key(segments: Key, redactor: Redactor) -> str:
    """``model/my model/pass_rate``: each segment scrubbed, then cleaned of what MLflow rejects; never ``..``."""
    cleaned = [_BAD_KEY_CHARS.sub("_", redactor.text(s)).strip() or "_" for s in segments]
    return "/".join("_" if set(s) <= {"."} else s for s in cleaned)[:MAX_KEY]


def tracked_run(
    summary: RunSummary,
    records: Iterable[ItemRecord],
    manifest: Mapping[str, Any],
    project: ProjectConfig,
    redactor: Redactor,
) -> TrackedRun:
    """The MLflow view of a finished run (``manifest``: the run folder's, finished)."""
    records = list(records)
    params = _params(summary, manifest, project)
    values = _model_metrics(summary.models, ("model",))
    for tag, tagged in metrics.group_by(records, "tags").items():
        values.update(_model_metrics({m: metrics.compute(rs) for m, rs in metrics.group_by(tagged, "model").items()},
                                     ("tag", tag)))  # fmt: skip
    values.update(_gate_metrics(summary))
    tags = _tags(summary, manifest, project)
    return TrackedRun(
        name=redactor.text(str(manifest.get("run_id") or "promptcheck")),
        params=_scrubbed(params, redactor, MAX_PARAM),
        metrics={key(k, redactor): v for k, v in values.items()},
        tags=_scrubbed(tags, redactor, MAX_TAG),
        start_ms=_ms(manifest.get("started")),
        end_ms=_ms(manifest.get("finished")),
    )


def _scrubbed(entries: Mapping[Key, Any], redactor: Redactor, limit: int) -> dict[str, str]:
    """Keys and values scrubbed (a secret can sit in a model's params or a tag's name), values as text."""
    out: dict[str, str] = {}
    for k, v in entries.items():
        if v is None:
            continue
        text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
        out[key(k, redactor)] = redactor.text(text)[:limit]
    return out


def _params(summary: RunSummary, manifest: Mapping[str, Any], project: ProjectConfig) -> dict[Key, Any]:
    used = {name: entry for name, entry in (manifest.get("models") or {}).items() if entry.get("used")}
    params: dict[Key, Any] = {
        ("models",): ",".join(sorted(summary.models)),
        ("suites",): ",".join(sorted(manifest.get("suites") or {})),
        ("seed",): manifest.get("seed", project.seed),
        ("repeat",): manifest.get("repeat"),
        ("baseline",): project.baseline,
        ("candidate",): project.candidate,
        ("gate", "enforced"): summary.enforced,
    }
    params.update({("gate", k): v for k, v in vars(summary.settings).items()})
    for name, entry in sorted(used.items()):
        for field_name in ("provider", "served", "params"):
            params["model", name, field_name] = entry.get(field_name) or None
    return params


def _model_metrics(per_model: Mapping[str, Metrics], prefix: Key) -> dict[Key, float]:
    out: dict[Key, float] = {}
    for model, m in per_model.items():
        rate, low_high = m.accuracy.rate, m.accuracy.rate.interval
        found: dict[str, float | None] = {
            "pass_rate": rate.rate, "pass_rate_low": low_high[0] if rate.judged else None,
            "pass_rate_high": low_high[1] if rate.judged else None, "passed": rate.passed, "judged": rate.judged,
            "errors": m.accuracy.errors, "calls": m.usage.calls, "input_tokens": m.usage.input_tokens,
            "output_tokens": m.usage.output_tokens, "cost_usd": m.usage.cost,
        }  # fmt: skip
        if m.consistency is not None:
            c = m.consistency
            found.update(consistency=c.stability, pass_at_1=c.pass_at_1, pass_hat_k=c.pass_hat_k)
        if m.bias is not None:
            found.update(bias_gap=m.bias.max_gap, bias_change_rate=m.bias.change_rate)
        if m.latency is not None:
            found.update(latency_p50_ms=m.latency.p50_ms, latency_p95_ms=m.latency.p95_ms)
        if m.ttft is not None:
            found.update(ttft_p50_ms=m.ttft.p50_ms, ttft_p95_ms=m.ttft.p95_ms)
        out.update({(*prefix, model, name): float(v) for name, v in found.items() if v is not None})
    return out


def _gate_metrics(summary: RunSummary) -> dict[Key, float]:
    if summary.gate is None:
        return {}
    gate = summary.gate
    out: dict[Key, float] = {("gate", "pass"): float(gate.verdict == GateVerdict.PASS)}
    out["gate", "exit_status"] = float(gate.exit_status)
    if summary.comparison is not None:
        stats = summary.comparison.stats
        out.update({("gate", "delta_low"): stats.lower, ("gate", "delta_high"): stats.upper,
                    ("gate", "p_value"): stats.p_value})  # fmt: skip
    return out


def _tags(summary: RunSummary, manifest: Mapping[str, Any], project: ProjectConfig) -> dict[Key, Any]:
    git = manifest.get("git") or {}
    tags: dict[str, Any] = {
        "promptcheck.run_id": manifest.get("run_id"),
        "promptcheck.exit_status": summary.exit_status,
        "promptcheck.plugin_version": __version__,
        "mlflow.source.git.commit": git.get("commit"),
    }
    if summary.gate is not None:
        tags.update(
            {"promptcheck.gate.verdict": summary.gate.verdict.value, "promptcheck.gate.rule": summary.gate.rule}
        )
    subject = _subject(summary, project)
    if subject is not None:
        entry = (manifest.get("models") or {}).get(subject) or {}
        tags["promptcheck.candidate"] = subject
        tags["promptcheck.candidate.sha256"] = entry.get("adapter_sha256") or entry.get("checkpoint_sha256")
        tags.update(lineage_tags(entry.get("training") or {}))
    return {(k,): v for k, v in tags.items()}  # a tag key is one segment: a "/" in a name is cleaned away


def _subject(summary: RunSummary, project: ProjectConfig) -> str | None:
    """Whose lineage the run's tags carry: the candidate, or the only model that ran."""
    if project.candidate and project.candidate in summary.models:
        return project.candidate
    return next(iter(summary.models)) if len(summary.models) == 1 else None


def lineage_tags(training: Mapping[str, Any]) -> dict[str, Any]:
    """The lineage as tags: ids to search by (``tags."promptcheck.lineage.id" = 'lin-…'``), training params."""
    tags: dict[str, Any] = {}
    lineage = training.get("lineage") or {}
    if lineage:
        exports = [e for e in lineage.get("exports") or () if isinstance(e, dict)]
        base = lineage.get("base_model") or {}
        tags.update({
            "promptcheck.lineage.id": lineage.get("lineage_id"),
            "promptcheck.lineage.checkpoint": lineage.get("checkpoint"),
            "promptcheck.lineage.exports": ",".join(str(e.get("lineage_id")) for e in exports if e.get("lineage_id")) or None,
            "promptcheck.lineage.export_runs": ",".join(str(e.get("run_id")) for e in exports if e.get("run_id")) or None,
            "promptcheck.lineage.base_model": base.get("path") or base.get("id"),
            "promptcheck.lineage.base_model_sha256": base.get("sha256"),
            "promptcheck.lineage.seed": lineage.get("seed"),
        })  # fmt: skip
    for source in ("training_args", "adapter_config"):
        tags.update({f"promptcheck.training.{k}": v for k, v in (training.get(source) or {}).items()})
    tags.update({f"promptcheck.training.{k}": v for k, v in (lineage.get("parameters") or {}).items()})
    return tags


def _ms(iso: Any) -> int | None:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(str(iso)).timestamp() * 1000) if iso else None
    except ValueError:
        return None
