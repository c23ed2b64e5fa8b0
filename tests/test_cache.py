"""The response cache (SPEC §8): hits across runs, what makes a call miss, and a broken file."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject
from pytest_promptcheck.config_models import ModelConfig
from pytest_promptcheck.providers.identity import content_hash, model_identity_without_provider
from pytest_promptcheck.stores import response_cache as cache_module
from pytest_promptcheck.stores.response_cache import ResponseCache

SUITE = """
prompts: {p: "{{ x }}"}
cases:
  - {id: a, vars: {x: alpha}, assert: [{contains: alpha}]}
  - {id: b, vars: {x: beta}, repeat: 3, assert: [{contains: beta}]}
"""

# A "local checkpoint" provider: its output is the text of weights.txt under the model's path, and
# it counts its calls in calls.txt. Its identity for the cache comes from the folder's content.
FILE_MODEL = """
from pathlib import Path

from pytest_promptcheck.providers.base import Completion


class FileModel:
    def __init__(self, model, context):
        self.path = Path(model.path)

    async def complete(self, request):
        with open("calls.txt", "a") as f:
            f.write("x")
        return Completion(output=(self.path / "weights.txt").read_text() + " " + request.messages[-1]["content"])

    async def aclose(self):
        pass


def pytest_promptcheck_register_providers(registry):
    registry.register("filemodel", FileModel)
"""


def lines_of(root: Path) -> list[dict]:
    newest = sorted((root / ".promptcheck" / "runs").iterdir())[-1]
    return [json.loads(x) for x in (newest / "results.jsonl").read_text().splitlines()]


def test_second_run_is_answered_from_the_cache(pytester: pytest.Pytester, project: PromptProject) -> None:
    """An identical second run takes every call from the cache, with the first run's latency and usage."""
    project.config({"echo": "app:with_usage"})
    project.suite(body=SUITE)
    first = pytester.runpytest()
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines(["promptcheck cache: 0/4 calls from cache (0%)"])
    before = {(x["case"], x["sample"]): x for x in lines_of(pytester.path)}
    second = pytester.runpytest()
    second.assert_outcomes(passed=2)
    second.stdout.fnmatch_lines(["promptcheck cache: 4/4 calls from cache (100%)"])
    for line in lines_of(pytester.path):
        old = before[(line["case"], line["sample"])]
        assert line["cached"] is True and old["cached"] is False
        assert (line["output"], line["usage"], line["latency_ms"]) == (old["output"], old["usage"], old["latency_ms"])


def test_repeats_are_distinct_entries(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Each sample of a repeated case is its own cache entry (the key holds the sample index)."""
    project.suite(body=SUITE)
    pytester.runpytest()
    db = sqlite3.connect(pytester.path / ".promptcheck" / "cache.db")
    assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == 4
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_changed_python_function_misses(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Editing the python model's source makes its calls miss; a run with --pc-no-cache neither reads nor writes."""
    pytester.makepyfile(mymodel="def reply(messages, params):\n    return 'v1 ' + messages[-1]['content']\n")
    project.config({"m": "mymodel:reply"})
    project.suite(body=SUITE)
    pytester.runpytest().stdout.fnmatch_lines(["promptcheck cache: 0/4 calls from cache (0%)"])
    # (a different length: a .pyc is reused when the source keeps its size within the same second)
    pytester.makepyfile(mymodel="def reply(messages, params):\n    return 'v22 ' + messages[-1]['content']\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["promptcheck cache: 0/4 calls from cache (0%)"])
    assert {x["output"].split()[0] for x in lines_of(pytester.path)} == {"v22"}
    pytester.runpytest().stdout.fnmatch_lines(["promptcheck cache: 4/4 calls from cache (100%)"])
    no_cache = pytester.runpytest("--pc-no-cache")
    assert "promptcheck cache:" not in no_cache.stdout.str()
    assert not any(x["cached"] for x in lines_of(pytester.path))


def test_new_weights_at_the_same_path_miss(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Replacing a local checkpoint's files at the same path makes its calls miss; unchanged ones hit."""
    pytester.makeconftest(FILE_MODEL)
    pytester.makepyprojecttoml(
        '[tool.promptcheck]\nmodels = ["local"]\n[tool.promptcheck.model.local]\nprovider = "filemodel"\npath = "ckpt"\n'
    )
    (pytester.path / "ckpt").mkdir()
    (pytester.path / "ckpt" / "weights.txt").write_text("old")
    project.suite(body=SUITE)
    pytester.runpytest()
    pytester.runpytest().stdout.fnmatch_lines(["promptcheck cache: 4/4 calls from cache (100%)"])
    (pytester.path / "ckpt" / "weights.txt").unlink()
    (pytester.path / "ckpt" / "weights.txt").write_text("new")
    pytester.runpytest().stdout.fnmatch_lines(["promptcheck cache: 0/4 calls from cache (0%)"])
    assert {x["output"].split()[0] for x in lines_of(pytester.path)} == {"new"}
    assert (pytester.path / "calls.txt").read_text() == "x" * 8


COUNTED_TRANSFORMERS = """
from pytest_promptcheck.providers import transformers


def pytest_promptcheck_register_providers(registry):
    def counted(model, context):
        with open("loaded.txt", "a") as f:
            f.write("x")
        return transformers.create(model, context)

    registry.register("transformers", counted, replace=True)
"""


def test_transformers_checkpoint_replaced_in_place_misses(pytester: pytest.Pytester, tiny_checkpoints: Any) -> None:
    """A real checkpoint: a fully cached run never loads it; the fine-tuned weights copied over the same
    folder (same file sizes) make every call miss."""
    from tiny_models import SYSTEM_PROMPT, tickets

    ckpt = pytester.path / "ckpt"
    shutil.copytree(tiny_checkpoints.base, ckpt)
    pytester.makeconftest(COUNTED_TRANSFORMERS)
    pytester.makepyprojecttoml(
        '[tool.promptcheck]\nmodels = ["local"]\n[tool.promptcheck.model.local]\nprovider = "transformers"\n'
        'path = "ckpt"\nparams = {max_new_tokens = 16}\n'
    )
    cases = [
        {"id": f"t{i}", "vars": {"ticket": t}, "assert": [{"not_contains": "zzzz"}]}
        for i, t in enumerate(tickets(3, seed=77))
    ]
    suite = {"prompts": {"p": [{"system": SYSTEM_PROMPT}, {"user": "{{ ticket }}"}]}, "cases": cases}
    pytester.makefile(".prompts.yaml", test_tiny=json.dumps(suite))
    pytester.runpytest().stdout.fnmatch_lines(["promptcheck cache: 0/3 calls from cache (0%)"])
    pytester.runpytest().stdout.fnmatch_lines(["promptcheck cache: 3/3 calls from cache (100%)"])
    assert (pytester.path / "loaded.txt").read_text() == "x"  # the cached run did not load the model
    shutil.rmtree(ckpt)
    shutil.copytree(tiny_checkpoints.tuned, ckpt)
    pytester.runpytest().stdout.fnmatch_lines(["promptcheck cache: 0/3 calls from cache (0%)"])
    assert (pytester.path / "loaded.txt").read_text() == "xx"
    manifest = json.loads(sorted((pytester.path / ".promptcheck" / "runs").glob("*/manifest.json"))[-1].read_text())
    assert manifest["models"]["local"]["checkpoint_sha256"] == content_hash([ckpt])


def test_content_hash_follows_the_bytes(tmp_path: Path) -> None:
    """The folder hash changes with any file's bytes or name, and is remembered by stat in the cache."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\x00" * 1000)
    (folder / "config.json").write_text("{}")
    cache = ResponseCache.open(tmp_path / "c.db")
    first = content_hash([folder], cache)
    assert content_hash([folder], cache) == first == content_hash([folder])
    (folder / "model.safetensors").write_bytes(b"\x01" * 1000)  # same size, same path
    second = content_hash([folder], cache)
    assert second != first
    (folder / "config.json").rename(folder / "generation_config.json")
    assert content_hash([folder], cache) != second
    model = ModelConfig(name="m", provider="transformers", path=str(folder))
    assert model_identity_without_provider(model, cache) == "content:" + content_hash([folder])
    cache.close()


def test_transformers_fingerprint_is_used_for_remote_checkpoints() -> None:
    """A provider without local files is identified by its identity() or fingerprint() (transformers)."""
    from pytest_promptcheck.providers.identity import provider_identity

    class Fingerprinted:
        def fingerprint(self) -> dict[str, str]:
            return {"weights": "abc"}

    model = ModelConfig(name="m", provider="transformers", path="org/hub-model")
    assert model_identity_without_provider(model, None) is None
    assert provider_identity(Fingerprinted(), model) == '{"weights": "abc"}'
    assert provider_identity(object(), model) == "transformers:org/hub-model"


def test_errors_are_never_cached(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A call that failed is made again on the next run; `cache = "off"` writes no file."""
    pytester.makepyfile(
        flaky="import os\ndef reply(messages, params):\n    if os.path.exists('broken'):\n        raise RuntimeError('down')\n    return messages[-1]['content']\n"
    )
    project.config({"m": "flaky:reply"})
    project.suite(body=SUITE)
    (pytester.path / "broken").write_text("")
    pytester.runpytest().assert_outcomes(errors=2)
    (pytester.path / "broken").unlink()
    pytester.runpytest().stdout.fnmatch_lines(["promptcheck cache: 0/4 calls from cache (0%)"])
    (pytester.path / ".promptcheck" / "cache.db").unlink()
    project.config({"m": "flaky:reply"}, 'cache = "off"')
    pytester.runpytest().assert_outcomes(passed=2)
    assert not (pytester.path / ".promptcheck" / "cache.db").exists()


def test_corrupted_cache_warns_once_and_runs_uncached(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A cache file that is not a database: one warning naming the file, and the run goes on."""
    project.suite(body=SUITE)
    (pytester.path / ".promptcheck").mkdir()
    (pytester.path / ".promptcheck" / "cache.db").write_bytes(b"this is not sqlite" * 100)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*CacheWarning: response cache *cache.db cannot be used (file is not a database)*"])
    result.stdout.fnmatch_lines(["promptcheck cache: 0/4 calls from cache (0%)"])


def test_locked_cache_warns_and_runs_uncached(
    pytester: pytest.Pytester, project: PromptProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache another process keeps locked: after the busy timeout, one warning, and the run goes on."""
    monkeypatch.setattr(cache_module, "BUSY_TIMEOUT_S", 0.2)
    project.suite(body=SUITE)
    path = pytester.path / ".promptcheck" / "cache.db"
    ResponseCache.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = pytester.runpytest()
    finally:
        holder.close()
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*CacheWarning: response cache *cache.db cannot be used (database is locked)*"])


def test_xdist_workers_share_the_cache(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Two workers fill one cache; the next -n 2 run takes 100% from it (counted on the controller)."""
    pytest.importorskip("xdist")
    cases = "\n".join(f"  - {{id: c{i}, vars: {{x: 'w{i}'}}, assert: [{{contains: w}}]}}" for i in range(12))
    project.suite(body=f'prompts: {{p: "{{{{ x }}}}"}}\ncases:\n{cases}\n')
    pytester.runpytest_subprocess("-n", "2").stdout.fnmatch_lines(["promptcheck cache: 0/12 calls from cache (0%)"])
    pytester.runpytest_subprocess("-n", "2").stdout.fnmatch_lines(["promptcheck cache: 12/12 calls from cache (100%)"])
