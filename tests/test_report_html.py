"""The HTML report: written by --pc-report html:PATH and `promptcheck report RUN --html OUT`, checked in Chromium."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from pair_project import setup_pair_project
from pytest_promptcheck.cli import report as cli_report
from pytest_promptcheck.outputs.html import render, script_json
from report_records import big_run

# c00 unchanged, c01 a critical regression, c02 an improvement, c03 untrusted text failing on both sides.
SUITE = """\
prompts: {p: "{{ base }}|{{ tuned }}"}
defaults:
  assert: [{contains: ok}]
cases:
  - {id: c00, vars: {base: ok fine, tuned: ok fine}}
  - {id: c01, vars: {base: ok the refund is approved, tuned: the refund is denied}, tags: [critical]}
  - {id: c02, vars: {base: no idea, tuned: ok now}, tags: [billing]}
  - {id: c03, vars: {base: "<script>alert(1)</script>", tuned: "<b>bold</b> & <img src=x onerror=alert(2)>"}}
"""


def make_project(pytester: pytest.Pytester) -> None:
    setup_pair_project(pytester, [(True, True)])
    pytester.makefile(".prompts.yaml", test_pairs=SUITE)


def run_cli(pytester: pytest.Pytester, *args: str) -> int:
    from pytest_promptcheck.cli.main import main

    return main(["--runs", str(pytester.path / ".promptcheck" / "runs"), *args])


def embedded_rows(html: str) -> str:
    return html.split('<script type="application/json" id="pc-data">', 1)[1].split("</script>", 1)[0]


def check_report(html: str) -> None:
    assert 'Gate: <span class="verdict">REGRESSED</span>' in html
    assert "critical case &#x27;c01&#x27; [p] in test_pairs.prompts.yaml regressed" in html
    for model, side in (("base", "baseline"), ("tuned", "candidate")):  # 2 of 4 each
        assert f"<td>{model}</td><td>{side}</td><td>2</td><td>4</td><td>0</td>" in html
    assert '50.0% <span class="muted">[15.0, 85.0]</span>' in html
    assert (
        "<td>critical</td><td>100% <span class=muted>(1/1)</span></td><td>0% <span class=muted>(0/1)</span></td>"
        in html
    )
    data = embedded_rows(html)
    assert "ok the refund is approved" in data and "the refund is denied" in data
    assert '["-","approved"],["+","denied"]' in data  # the word diff of the regression
    assert "<script>alert" not in html and "<img" not in html and "<b>bold" not in html
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in data
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # nothing fetched


def test_pc_report_html_at_the_end_of_a_run(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = pytester.runpytest("--pc-gate", "--pc-report", "html:out/report.html")
    assert result.ret == 1
    check_report((pytester.path / "out" / "report.html").read_text(encoding="utf-8"))


def test_report_subcommand_writes_the_same_page(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(pytester)
    pytester.runpytest("--pc-gate")
    capsys.readouterr()
    out = pytester.path / "cli" / "report.html"
    assert run_cli(pytester, "report", "latest", "--html", str(out)) == 0
    assert f"HTML report: {out}" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    check_report(html)
    assert "(exit 1, enforced (--pc-gate))" in html


def test_report_subcommand_bad_input(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(pytester, "report", "latest", "--html", "x.html") == 1
    assert "promptcheck report: run 'latest' matches no run record" in capsys.readouterr().err
    assert run_cli(pytester, "report", "latest") == 2
    assert "give --html OUT and/or --md OUT" in capsys.readouterr().err
    assert not (pytester.path / "x.html").exists()


def test_script_json_cannot_close_the_script() -> None:
    text = script_json({"o": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text


def test_five_thousand_items_render_fast() -> None:
    summary, records = big_run(2500)  # 2,500 cases × 2 models
    started = time.perf_counter()
    html = render(summary, records, title="big")
    elapsed = time.perf_counter() - started
    print(f"5,000-item HTML report: {elapsed:.2f} s, {len(html) / 1e6:.1f} MB")
    assert elapsed < 5
    assert embedded_rows(html).count('"case":"c') == 2500


def test_progress_counter_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert cli_report.progress_printer(io.StringIO()) is None
    stream = Tty()
    show = cli_report.progress_printer(stream)
    assert show is not None
    for done in range(1, 1001):
        show(done, 1000)
    assert stream.getvalue().endswith("\rpromptcheck report: cases 1000/1000\n")
    small = Tty()
    show = cli_report.progress_printer(small)
    assert show is not None
    show(10, 10)
    assert small.getvalue() == ""


# -- a real browser ----------------------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
    pytest.skip("chromium is not installed (apt-get install chromium): the browser check of the HTML report is skipped")


def browse(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1280,1400",
               *args, url]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def shown_cases(dom: str) -> list[str]:
    return re.findall(r'<span class="id">([^<]*)</span>', dom)


def test_page_in_headless_chromium(pytester: pytest.Pytester, tmp_path: Path) -> None:
    make_project(pytester)
    pytester.runpytest("--pc-report", "html:report.html")
    url = (pytester.path / "report.html").as_uri()
    profile = tmp_path / "profile"
    views = {"": 4, "#filter=failed": 3, "#filter=regressions": 1, "#tag=billing": 1, "#q=refund": 1}
    for fragment, expected in views.items():
        done = browse(url + fragment, profile, "--dump-dom")
        dom = done.stdout
        body = re.search(r"<body[^>]*>", dom)
        assert body is not None and 'data-ready="1"' in body.group(), done.stderr[-2000:]
        assert "data-error" not in body.group() and "Uncaught" not in done.stderr and ":CONSOLE" not in done.stderr
        assert len(shown_cases(dom)) == expected, (fragment, shown_cases(dom))
    dom = browse(url + "#filter=regressions", profile, "--dump-dom").stdout
    assert shown_cases(dom) == ["test_pairs.prompts.yaml::c01 [p]"]
    assert "<del>approved</del>" in dom and "<ins>denied</ins>" in dom
    dom = browse(url + "#q=alert", profile, "--dump-dom").stdout
    assert "<script>alert" not in dom and "<img" not in dom
    text = re.sub(r"<[^>]+>", "", dom)  # the diff's <del>/<ins> split the outputs
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # shown as text
    screenshot = tmp_path / "report.png"
    browse(url, profile, f"--screenshot={screenshot}")
    assert screenshot.stat().st_size > 10_000
    artifacts = os.environ.get("PROMPTCHECK_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(artifacts) / "html-report.png")


def test_big_page_renders_a_page_of_cases_at_a_time(tmp_path: Path) -> None:
    """5,000 items: the page shows the first 100 matching cases and keeps the rest for 'show more'."""
    summary, records = big_run(2500)
    page = tmp_path / "big.html"
    page.write_text(render(summary, records, title="big"), encoding="utf-8")
    done = browse(page.as_uri() + "#filter=regressions", tmp_path / "profile", "--dump-dom")
    assert '<body data-ready="1">' in done.stdout, done.stderr[-2000:]
    regressions = summary.comparison.stats.counts.b if summary.comparison else 0
    assert f"showing 100 of {regressions} matching cases (2500 in all)" in done.stdout
    assert len(shown_cases(done.stdout)) == 100
