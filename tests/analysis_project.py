"""A baseline/candidate project with known weaknesses, for the failure analysis and the data plan.

The prompt is ``"{{ base }}|{{ tuned }}|{{ ticket }}"``: model ``base`` answers the JSON before the
first bar, ``tuned`` the JSON after it (the ticket, the case id, keeps every prompt distinct), so
each case states both outputs. Six cases (area is a chosen var):

    case      tags      area    base       tuned      ideal  expected   side
    login-1   account   login   account    technical  yes    account    candidate only (regression)
    login-2   account   login   account    technical  yes    account    candidate only (regression)
    login-3   password  login   account    technical  no     account    candidate only (a passing base output)
    refund-1  billing   refund  billing    billing    no     billing    pass
    refund-2  billing   refund  shipping   shipping   no     billing    both
    ship-1    shipping  ship    technical  shipping   no     shipping   baseline only
"""

from __future__ import annotations

import pytest

from conftest import make_pyproject
from pair_project import PAIR_APP

CASES = [
    ("login-1", "account", "login", "account", "technical", True, "account"),
    ("login-2", "account", "login", "account", "technical", True, "account"),
    ("login-3", "password", "login", "account", "technical", False, "account"),
    ("refund-1", "billing", "refund", "billing", "billing", False, "billing"),
    ("refund-2", "billing", "refund", "shipping", "shipping", False, "billing"),
    ("ship-1", "shipping", "ship", "technical", "shipping", False, "shipping"),
]


def _json(category: str) -> str:
    return '\'{"category": "' + category + "\"}'"


def analysis_suite() -> str:
    lines = ['prompts: {p: "{{ base }}|{{ tuned }}|{{ ticket }}"}', "cases:"]
    for case, tag, area, base, tuned, ideal, expected in CASES:
        lines += [
            f"  - id: {case}",
            f"    tags: [{tag}]",
            f"    vars: {{area: {area}, ticket: {case}, base: {_json(base)}, tuned: {_json(tuned)}}}",
            *([f"    ideal: {_json(expected)}"] if ideal else []),
            f"    assert: [{{json_path: {{path: $.category, equals: {expected}}}}}]",
        ]
    return "\n".join(lines) + "\n"


def setup_analysis_project(pytester: pytest.Pytester, analysis: str = 'vars = ["area"]') -> None:
    pytester.makepyfile(pairapp=PAIR_APP)
    extra = f'baseline = "base"\ncandidate = "tuned"\n\n[tool.promptcheck.analysis]\n{analysis}\n'
    pytester.makepyprojecttoml(make_pyproject({"base": "pairapp:base", "tuned": "pairapp:tuned"}, extra))
    pytester.makefile(".prompts.yaml", test_triage=analysis_suite())
