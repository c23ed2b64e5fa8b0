"""Representativeness: the share of each tag and chosen var value in the suite, the export and the feedback.

Shares: in the **suite**, of its cases (every case of the run, passing or failing); in the
**export**, of the training file's rows (:mod:`.data_plan`, with the export's own selection,
:mod:`.export_selection`: failing, variant-added and rehearsal rows after balance and the split); in the **feedback**, of the rows ``import-feedback`` read
(:mod:`.feedback_summary`, all of them, including rows that did not become cases). The reference is
the feedback when there is some, else the suite: what the model meets in use, as well as it is
known. A group is flagged when its export share differs from its reference share by more than
``share_factor`` either way (a share of 0 on one side only is always more), for groups that fail on
the exported side: a tag that passes there (or fails only on the other side) is not a finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .data_plan import Row
from .export_selection import Source
from .feedback_summary import FeedbackCounts
from .record import ItemRecord


@dataclass(frozen=True)
class Share:
    group: str  # "tag", or the var's name
    value: str
    suite: int  # cases
    export: int  # training rows
    feedback: int | None  # feedback rows (None: no feedback)
    suite_share: float
    export_share: float
    feedback_share: float | None
    reference: str  # "feedback" or "suite"
    ratio: float | None  # export share / reference share (None: neither has it; inf: only the export)
    flagged: bool

    @property
    def label(self) -> str:
        return f"tag {self.value}" if self.group == "tag" else f"{self.group}={self.value}"


@dataclass(frozen=True)
class Representativeness:
    factor: float
    reference: str
    suite_cases: int
    export_rows: int
    feedback_rows: int | None
    shares: tuple[Share, ...]

    @property
    def flagged(self) -> list[Share]:
        return [s for s in self.shares if s.flagged]


def compare_shares(
    records: Iterable[ItemRecord], rows: Iterable[Row], train: Sequence[Source], feedback: FeedbackCounts | None,
    names: tuple[str, ...], *, factor: float,
) -> Representativeness:  # fmt: skip
    """``rows``: every row of the exported side's failures (with a target or not); ``train``: the training file's rows."""
    records = sorted(records, key=lambda r: r.item)
    cases = {(r.suite, r.case): r for r in records}
    failing = {gv for row in rows for gv in _groups(row.record, names)}
    suite = Counter(gv for r in cases.values() for gv in _groups(r, names))
    export = Counter(gv for row in train for gv in _groups(row.record, names))
    fed: Counter[tuple[str, str]] = Counter()
    if feedback is not None:
        fed.update({("tag", t): n for t, n in feedback.tags.items()})
        fed.update({(name, v): n for name in names for v, n in feedback.vars.get(name, {}).items()})
    reference = "feedback" if feedback is not None and feedback.rows else "suite"
    keys = sorted(set(suite) | set(export) | set(fed), key=lambda gv: (gv[0] != "tag", gv))
    shares = []
    for group, value in keys:
        s, e = suite[(group, value)], export[(group, value)]
        f = fed[(group, value)] if feedback is not None else None
        s_share, e_share = _share(s, len(cases)), _share(e, len(train))
        f_share = _share(f, feedback.rows) if feedback is not None and f is not None else None
        ref = f_share if reference == "feedback" else s_share
        ratio = _ratio(e_share, ref or 0.0)
        considered = bool(train) and ((group, value) in failing or e > 0)
        flagged = considered and ratio is not None and (ratio > factor or ratio < 1 / factor)
        shares.append(Share(group, value, s, e, f, s_share, e_share, f_share, reference, ratio, flagged))
    return Representativeness(
        factor, reference, len(cases), len(train), feedback.rows if feedback is not None else None, tuple(shares)
    )


def _groups(record: ItemRecord, names: tuple[str, ...]) -> list[tuple[str, str]]:
    found = [("tag", t) for t in dict.fromkeys(record.tags)]
    return found + [(n, record.chosen_vars[n]) for n in names if n in record.chosen_vars]


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _ratio(share: float, reference: float) -> float | None:
    if reference == 0:
        return None if share == 0 else float("inf")
    return share / reference
