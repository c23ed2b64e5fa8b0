"""Images as content parts of a user message: read under the file rules, sent as each protocol expects
(real openai and anthropic SDKs against the test server), keyed by their bytes, kept small in records."""

from __future__ import annotations

import base64
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from llm_server import LLMServer
from provider_project import output_of, write_provider_project

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytestmark = pytest.mark.usefixtures("openai_warm", "anthropic_warm")

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # the magic bytes are what make it a PNG here
JPEG = b"\xff\xd8\xff\xe0" + b"jfif-ish" * 10

SUITE = """
    prompts:
      look:
        - system: "Describe images."
        - user: [ { text: "What is in this picture?" }, { image: { path: "images/{{ name }}.png" } } ]
    cases:
      - id: cat
        vars: { name: cat }
        assert: [ { icontains: picture } ]
"""

URL_SUITE = """
    prompts:
      look:
        - user: [ { text: "And this one?" }, { image: { url: "https://example.com/{{ name }}.jpg" } } ]
    cases:
      - id: dog
        vars: { name: dog }
        assert: [ { icontains: "this one" } ]
"""

# (provider, model lines, the path the SDK posts to)
PROTOCOLS = [
    ("openai", "", "/v1/chat/completions"),
    ("openai", 'api = "responses"', "/v1/responses"),
    ("anthropic", "", "/v1/messages"),
]


def _project(pytester: pytest.Pytester, server: LLMServer, provider: str, suite: str, model_lines: str = "",
             top_lines: str = "") -> None:  # fmt: skip
    base_url = server.base_url if provider == "openai" else server.anthropic_base_url
    write_provider_project(
        pytester, name="m", provider=provider, model_id="m-test", base_url=base_url, suite=suite,
        api_key_env=None, model_lines=model_lines, top_lines=top_lines,
    )  # fmt: skip


def _images(pytester: pytest.Pytester, **files: bytes) -> None:
    (pytester.path / "images").mkdir(exist_ok=True)
    for name, data in files.items():
        (pytester.path / "images" / name).write_bytes(data)


@pytest.mark.parametrize(("provider", "model_lines", "path"), PROTOCOLS, ids=["chat", "responses", "anthropic"])
def test_an_image_part_reaches_the_server_with_its_bytes(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str, model_lines: str, path: str
) -> None:
    """The file's bytes arrive base64 in the protocol's own form (image_url data URL, input_image, image block)."""
    _images(pytester, **{"cat.png": PNG})
    _project(pytester, llm_server, provider, SUITE, model_lines)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    (request,) = llm_server.requests
    assert request.path == path
    assert request.images == [{"media_type": "image/png", "data": base64.b64encode(PNG).decode()}]
    assert "What is in this picture?" in request.text


@pytest.mark.parametrize(("provider", "model_lines", "path"), PROTOCOLS, ids=["chat", "responses", "anthropic"])
def test_an_image_url_is_sent_as_a_url(
    pytester: pytest.Pytester, llm_server: LLMServer, provider: str, model_lines: str, path: str
) -> None:
    """``url:`` goes out as the URL (templated), never fetched by the plugin."""
    _project(pytester, llm_server, provider, URL_SUITE, model_lines)
    pytester.runpytest().assert_outcomes(passed=1)
    (request,) = llm_server.requests
    assert request.images == [{"url": "https://example.com/dog.jpg"}]


def _record(root: Path) -> dict[str, Any]:
    (folder,) = sorted((root / ".promptcheck" / "runs").iterdir())
    (line,) = (folder / "results.jsonl").read_text().splitlines()
    return dict(json.loads(line))


def test_records_keep_the_image_hash_not_its_base64(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """The record names the image by path, media type, size and sha256; its data stays out."""
    big = JPEG + os.urandom(200_000)
    (pytester.path / "images").mkdir()
    (pytester.path / "images" / "cat.png").write_bytes(big)
    _project(pytester, llm_server, "anthropic", SUITE, top_lines='runs = ".promptcheck/runs"')
    pytester.runpytest().assert_outcomes(passed=1)
    record = _record(pytester.path)
    part = record["messages"][1]["content"][1]
    import hashlib

    sha = hashlib.sha256(big).hexdigest()
    assert part == {
        "type": "image",
        "media_type": "image/jpeg",
        "sha256": sha,
        "bytes": len(big),
        "path": "images/cat.png",
    }
    assert base64.b64encode(big).decode()[:40] not in json.dumps(record)


def test_the_cache_keys_on_the_image_bytes_not_the_path(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """Same bytes under another name: a cache hit; other bytes under the same name: a new call."""
    _images(pytester, **{"cat.png": PNG, "kitten.png": PNG})
    _project(pytester, llm_server, "openai", SUITE)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('cache = "off"', 'cache = ".promptcheck/cache.db"'))
    pytester.runpytest().assert_outcomes(passed=1)
    suite = pytester.path / "test_suite.prompts.yaml"
    suite.write_text(suite.read_text().replace("name: cat", "name: kitten"))
    pytester.runpytest().assert_outcomes(passed=1)
    assert llm_server.request_count == 1  # kitten.png holds cat.png's bytes
    (pytester.path / "images" / "kitten.png").write_bytes(PNG + b"changed")
    pytester.runpytest().assert_outcomes(passed=1)
    assert llm_server.request_count == 2


def test_a_path_outside_the_project_is_refused(
    pytester: pytest.Pytester, llm_server: LLMServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An image outside the roots is a collection error at the suite's line; nothing is sent."""
    outside = tmp_path_factory.mktemp("outside") / "cat.png"
    outside.write_bytes(PNG)
    escape = os.path.relpath(outside.parent, pytester.path)
    _project(pytester, llm_server, "openai", SUITE.replace("images/{{ name }}.png", f"{escape}/{{{{ name }}}}.png"))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*test_suite.prompts.yaml:6: ?case 'cat'? prompt 'look' (line 2): image '{escape}/cat.png' lies outside the project*"
        ]
    )
    assert llm_server.request_count == 0


def test_a_file_that_is_no_image_is_an_error_at_the_case(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """A text file named .png is refused by its bytes, at the case's line, naming the part's line."""
    _images(pytester, **{"cat.png": b"just some text\n"})
    _project(pytester, llm_server, "anthropic", SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*test_suite.prompts.yaml:6: ?case 'cat'? prompt 'look' (line 2): image 'images/cat.png' (line 4) is not a PNG, JPEG, "
        "GIF or WebP image (it starts with b'just som'); name an image file*"
    ])  # fmt: skip
    assert llm_server.request_count == 0


def test_a_text_only_provider_says_so_at_collection(pytester: pytest.Pytester) -> None:
    """A transformers model is text in, text out: a suite that sends it images fails at collection, before
    any model loads, naming the prompt, the model and the fix."""
    _images(pytester, **{"cat.png": PNG})
    write_provider_project(
        pytester, name="local", provider="transformers", model_id="unused", base_url=None, suite=SUITE,
        api_key_env=None, model_lines='path = "no-such-checkpoint"',
    )  # fmt: skip
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*test_suite.prompts.yaml:2: *prompt 'look' sends images, but model 'local' (transformers) takes text only; "
        "run the case on a model that reads images (openai, anthropic)*"
    ])  # fmt: skip
    assert "no-such-checkpoint" not in output_of(result)


PARTS_APP = """
def look(messages, params):
    parts = messages[-1]["content"]
    return "a picture of " + ", ".join(p.get("media_type", "text") for p in parts)
"""


@pytest.mark.parametrize("fmt", ["openai-chat", "trl-sft"])
def test_an_export_carries_the_image_as_a_data_url(pytester: pytest.Pytester, fmt: str) -> None:
    """The export alone reads the image back (checked against the record's sha256) into OpenAI's vision
    format; a text-only format skips the row and says why. A python model gets the parts as they are."""
    _images(pytester, **{"cat.png": PNG})
    pytester.makepyfile(app=PARTS_APP)
    pytester.makepyprojecttoml(
        '[tool.promptcheck]\nmodels = ["m"]\n[tool.promptcheck.model.m]\nprovider = "python"\nfunction = "app:look"\n'
    )
    suite = SUITE.replace("icontains: picture", "contains: a cat").replace(
        "vars: { name: cat }", "vars: { name: cat }\n        ideal: a cat"
    )
    pytester.makefile(".prompts.yaml", test_suite=textwrap.dedent(suite))
    result = pytester.runpytest("--pc-export", "out/ft.jsonl", "--pc-export-format", fmt)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*output: a picture of text, image/png*"])
    rows = [json.loads(line) for line in (pytester.path / "out" / "ft.jsonl").read_text().splitlines()]
    if fmt == "trl-sft":
        assert rows == []
        manifest = json.loads((pytester.path / "out" / "ft.manifest.json").read_text())
        assert manifest["counts"]["skipped"] == {"images (trl-sft rows are text only; use openai-chat)": 1}
        return
    (row,) = rows
    user = row["messages"][1]["content"]
    assert user == [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
    ]
    assert row["messages"][-1] == {"role": "assistant", "content": "a cat"}


def test_a_cassette_replays_an_image_case_without_its_base64(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    """--pc-record keeps the image as its hash (the key covers the bytes); --pc-replay answers offline."""
    _images(pytester, **{"cat.png": PNG})
    _project(pytester, llm_server, "openai", SUITE)
    pytester.runpytest("--pc-record").assert_outcomes(passed=1)
    (cassette,) = pytester.path.rglob("*.cassette.jsonl")
    assert base64.b64encode(PNG).decode()[:40] not in cassette.read_text()
    llm_server.stop()
    pytester.runpytest("--pc-replay").assert_outcomes(passed=1)
    assert llm_server.request_count == 1
