"""``MlflowTracker``: ``--pc-mlflow`` logs the finished run to an MLflow tracking store (controller only).

:class:`.run_end.RunEnd` calls it last, after the record and the export are written: one MLflow run
per promptcheck run, named by the run id, with the params, metrics and tags of
:func:`..outputs.tracking.tracked_run` and, as artifacts, the ``--pc-report`` files, the export's
files and the run folder's ``manifest.json`` (all already scrubbed on their way to disk; MLflow's
client copies them into its artifact store, so nothing here writes a file). MLflow is imported only
here, when the run ends. A store that cannot be reached or written is one warning, never a failed
run: the tests' verdicts do not depend on the bookkeeping.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ProjectConfig
from ..errors import MissingDependencyError
from ..outputs.redact import Redactor
from ..outputs.tracking import TrackedRun, tracked_run
from ..textutil import safe_url

if TYPE_CHECKING:
    from .aggregator import RunAggregator
    from .exporter import FailureExporter
    from .run_recorder import RunRecorder

_BATCH = 100  # MLflow's most params (or tags) in one log_batch call
_METRICS_BATCH = 1000


class TrackingWarning(UserWarning):
    """The run could not be logged to the tracking store (``--pc-mlflow``)."""


def require_mlflow() -> None:
    """Fail at configure time, not after the run, when the ``[mlflow]`` extra is missing."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise MissingDependencyError("--pc-mlflow", "mlflow")


class MlflowTracker:
    """Logs one promptcheck run as one MLflow run and says where it went."""

    def __init__(self, uri: str | None, experiment: str, project: ProjectConfig, redactor: Redactor) -> None:
        self.uri = uri  # None: MLflow's own default (its environment, then ./mlruns or sqlite)
        self.experiment = experiment
        self.project = project
        self.redactor = redactor
        self.run_id: str | None = None
        self.shown_uri = ""

    def finish(self, aggregator: RunAggregator, recorder: RunRecorder, exporter: FailureExporter | None) -> None:
        """Log the finished run (nothing when no prompt item ran); a failure is one warning."""
        if aggregator.summary is None:
            return
        try:
            tracked = tracked_run(
                aggregator.summary, aggregator.records.values(), recorder.manifest, self.project, self.redactor
            )
            artifacts = artifact_paths(recorder, exporter, aggregator.reports)
            with warnings.catch_warnings():  # MLflow's own deprecations (SQLAlchemy's, ...) are not the user's to fix
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", FutureWarning)
                self._log(tracked, [(folder, path) for folder, path in artifacts if path.is_file()])
        except Exception as exc:  # any client or store error: MLflow raises many kinds
            where = f" ({self.shown_uri})" if self.shown_uri else ""
            detail = (str(exc).strip().splitlines() or [""])[0]  # MLflow's messages run to many lines
            message = f"promptcheck: cannot log the run to MLflow{where}: {type(exc).__name__}: {detail}"
            warnings.warn(TrackingWarning(self.redactor.text(message) + "; the run goes on without it"), stacklevel=2)

    def _log(self, tracked: TrackedRun, artifacts: list[tuple[str, Path]]) -> None:
        try:
            from mlflow import MlflowClient
            from mlflow.entities import Metric, Param, RunTag
        except ImportError:
            raise MissingDependencyError("--pc-mlflow", "mlflow") from None
        client = MlflowClient(tracking_uri=self.uri)
        self.shown_uri = shown_uri(client.tracking_uri)
        experiment = client.get_experiment_by_name(self.experiment)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(self.experiment)
        run = client.create_run(experiment_id, start_time=tracked.start_ms, run_name=tracked.name)
        run_id = self.run_id = run.info.run_id
        try:
            stamp = tracked.end_ms or 0
            params = [Param(k, v) for k, v in tracked.params.items()]
            tags = [RunTag(k, v) for k, v in tracked.tags.items()]
            metrics = [Metric(k, v, stamp, 0) for k, v in tracked.metrics.items()]
            for i in range(0, len(params), _BATCH):
                client.log_batch(run_id, params=params[i : i + _BATCH])
            for i in range(0, len(tags), _BATCH):
                client.log_batch(run_id, tags=tags[i : i + _BATCH])
            for i in range(0, len(metrics), _METRICS_BATCH):
                client.log_batch(run_id, metrics=metrics[i : i + _METRICS_BATCH])
            for folder, path in artifacts:
                client.log_artifact(run_id, str(path), artifact_path=folder)
        except Exception:
            client.set_terminated(run_id, "FAILED", end_time=tracked.end_ms)
            raise
        client.set_terminated(run_id, "FINISHED", end_time=tracked.end_ms)

    def summary_lines(self) -> list[str]:
        """``promptcheck mlflow: run 3f2a… in experiment 'promptcheck' (sqlite:///mlflow.db)``."""
        if self.run_id is None:
            return []
        return [f"promptcheck mlflow: run {self.run_id} in experiment {self.experiment!r} ({self.shown_uri})"]


def shown_uri(uri: str) -> str:
    """The tracking URI without credentials (a database or server URL can carry them); sqlite and file as given."""
    if uri.startswith(("sqlite:", "file:")) or "://" not in uri:
        return uri
    return safe_url(uri) or ""


def artifact_paths(
    recorder: RunRecorder, exporter: FailureExporter | None, reports: Iterable[tuple[str, Path]]
) -> list[tuple[str, Path]]:
    """``(artifact folder, file)``: the run's manifest, its ``--pc-report`` files and its export files."""
    from ..runs.folder import MANIFEST

    found: list[tuple[str, Path]] = []
    if recorder.folder is not None:
        found.append(("run", recorder.folder / MANIFEST))
    found += [("reports", path) for _, path in reports]
    if exporter is not None and exporter.result is not None:
        found += [("export", path) for path in exporter.result.files]
    return found
