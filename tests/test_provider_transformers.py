"""The `transformers` provider on real tiny checkpoints (tests/tiny_models.py), CPU only, offline.

End to end through pytest where a user would see it (config, --pc-model, item errors); direct
provider calls where a property needs many prompts (batched == unbatched, seeding, fingerprints).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from model_fixtures import TinyCheckpoints
from pytest_promptcheck.config import ProjectConfig
from pytest_promptcheck.config_models import ModelConfig
from pytest_promptcheck.errors import ConfigError
from pytest_promptcheck.providers.base import Completion, ModelRequest, ProviderContext
from pytest_promptcheck.providers.fingerprint import describe_drift
from pytest_promptcheck.providers.transformers import TransformersProvider, create
from tiny_models import SYSTEM_PROMPT, messages_for, tickets

pytestmark = pytest.mark.usefixtures("tiny_checkpoints")

PROMPTS = tickets(24, seed=1234)  # held-out phrasings (training used seeds 1 and 2)


# -- helpers --------------------------------------------------------------------------------------


def provider(path: Path, adapter: Path | None = None, **fields: Any) -> TransformersProvider:
    model = ModelConfig(
        name="m", provider="transformers", path=str(path), adapter=str(adapter) if adapter else None, **fields
    )
    return create(model, ProviderContext(ProjectConfig(root=path.parent), path.parent))


def complete_all(
    target: TransformersProvider, prompts: Sequence[str], params: dict[str, Any] | None = None, *, seed: int = 0
) -> list[Completion]:
    """All prompts at once, as the engine sends them (so they batch), then close the provider."""
    requests = [
        ModelRequest(messages=tuple(messages_for(t)), params=dict(params or {}), seed=seed + i)
        for i, t in enumerate(prompts)
    ]

    async def run() -> list[Completion]:
        try:
            return list(await asyncio.gather(*(target.complete(r) for r in requests)))
        finally:
            await target.aclose()

    return asyncio.run(run())


def outputs(path: Path, adapter: Path | None = None, prompts: Sequence[str] = PROMPTS, **kw: Any) -> list[str]:
    return [c.output for c in complete_all(provider(path, adapter), prompts, **kw)]


def toml_model(name: str, **fields: str) -> str:
    lines = [f"[tool.promptcheck.model.{name}]", 'provider = "transformers"']
    return "\n".join(lines + [f"{k} = {json.dumps(v)}" for k, v in fields.items()]) + "\n"


def write_project(pytester: pytest.Pytester, models: str, cases: list[dict[str, Any]], *, names: str) -> None:
    """A project whose suite sends the trained chat (system prompt + ticket) to the models ``names``."""
    pytester.makepyprojecttoml(f'[tool.promptcheck]\nmodels = [{names}]\ncache = "off"\n\n{models}')
    suite = {"prompts": {"p": [{"system": SYSTEM_PROMPT}, {"user": "{{ ticket }}"}]}, "cases": cases}
    pytester.makefile(".prompts.yaml", test_tiny=json.dumps(suite, indent=1))  # JSON is YAML


def case(case_id: str, ticket: str, *checks: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": case_id, "vars": {"ticket": ticket}, "assert": list(checks), **({"params": params} if params else {})}


# -- end to end -----------------------------------------------------------------------------------


def test_config_model_loads_local_checkpoint(pytester: pytest.Pytester, tiny_checkpoints: TinyCheckpoints) -> None:
    """A `path` in pyproject runs the real model: JSON answers pass, a wrong label fails, finish/tokens are real."""
    ticket = "Hi, My invoice 776 shows the wrong amount. Please help asap."
    cases = [
        case("json", ticket, "is_json", {"json_path": {"path": "$.category", "equals": "billing"}}),
        case("never-shipping", "My package 123 has not arrived.", {"contains": "shipping"}),  # old scheme: billing
        case("cut", ticket, {"finish_reason": "length"}, {"tokens": {"max": 3}}, params={"max_new_tokens": 3}),
    ]
    write_project(pytester, toml_model("base", path=str(tiny_checkpoints.base)), cases, names='"base"')
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*never-shipping*FAILED*"])


def test_adapter_in_config_serves_base_plus_adapter(
    pytester: pytest.Pytester, tiny_checkpoints: TinyCheckpoints
) -> None:
    """`adapter` over `path` answers like the adapter, not like the base alone."""
    ticket, expected = _distinguishing_ticket(tiny_checkpoints, tiny_checkpoints.lora)
    model = toml_model("tuned", path=str(tiny_checkpoints.base), adapter=str(tiny_checkpoints.lora))
    write_project(pytester, model, [case("c", ticket, {"equals": expected})], names='"tuned"')
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("which", ["tuned", "lora"])
def test_pc_model_hf_serves_full_checkpoint_or_adapter_folder(
    pytester: pytest.Pytester, tiny_checkpoints: TinyCheckpoints, which: str
) -> None:
    """`--pc-model tuned=hf:PATH` replaces a configured model with a full checkpoint or an adapter
    folder (its base read from adapter_config.json, relative to the adapter)."""
    folder = getattr(tiny_checkpoints, which)
    ticket, expected = _distinguishing_ticket(tiny_checkpoints, folder)
    write_project(
        pytester, toml_model("tuned", path=str(tiny_checkpoints.base)), [case("c", ticket, {"equals": expected})],
        names='"tuned"',
    )  # fmt: skip
    pytester.runpytest().assert_outcomes(failed=1)  # the configured base answers differently
    pytester.runpytest(f"--pc-model=tuned=hf:{folder}").assert_outcomes(passed=1)


def _distinguishing_ticket(checkpoints: TinyCheckpoints, folder: Path) -> tuple[str, str]:
    """A ticket on which ``folder`` (a full checkpoint or an adapter) answers differently from base."""
    pool = tickets(40, seed=99)
    adapter = folder if (folder / "adapter_config.json").is_file() else None
    served = outputs(checkpoints.base if adapter else folder, adapter, pool)
    for ticket, base_out, out in zip(pool, outputs(checkpoints.base, None, pool), served):
        if out != base_out:
            return ticket, out
    raise AssertionError(f"{folder.name} answers like base on all {len(pool)} tickets")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("does-not-exist", "path '*does-not-exist' does not exist; point it at a local folder"),
        ("LORA", "path '*lora' is not a transformers checkpoint (no config.json); it is a peft adapter: set `adapter`"),
    ],
)
def test_bad_path_is_an_item_error_without_traceback(
    pytester: pytest.Pytester, tiny_checkpoints: TinyCheckpoints, path: str, message: str
) -> None:
    """A missing folder or an adapter given as `path` is an item *error* naming model, path and fix."""
    path = str(tiny_checkpoints.lora) if path == "LORA" else path
    write_project(pytester, toml_model("base", path=path), [case("c", "Hi.", "is_json")], names='"base"')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"configuration problem: model 'base' (transformers): {message}*"])
    assert "Traceback" not in result.stdout.str() and "site-packages" not in result.stdout.str()


def test_missing_chat_template_is_an_error_and_the_option_fixes_it(
    pytester: pytest.Pytester, tiny_checkpoints: TinyCheckpoints
) -> None:
    """A checkpoint without a chat template is an item error; `chat_template = FILE` supplies one."""
    folder = pytester.path / "no-template"
    shutil.copytree(tiny_checkpoints.base, folder)
    template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    (folder / "chat_template.jinja").unlink()
    (pytester.path / "chat.jinja").write_text(template, encoding="utf-8")
    cases = [case("c", "Hi, My invoice 776 shows the wrong amount.", "is_json")]
    write_project(pytester, toml_model("base", path="no-template"), cases, names='"base"')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no-template' has no chat template*set `chat_template = *"])
    model = toml_model("base", path="no-template", chat_template="chat.jinja")
    write_project(pytester, model, cases, names='"base"')
    pytester.runpytest().assert_outcomes(passed=1)


# -- direct provider properties -------------------------------------------------------------------


def test_batched_greedy_equals_unbatched(tiny_checkpoints: TinyCheckpoints) -> None:
    """24 prompts in batches of up to 16 (left-padded) give exactly the one-at-a-time outputs."""
    batched, alone = provider(tiny_checkpoints.tuned, batch_size=16), provider(tiny_checkpoints.tuned, batch_size=1)
    batched_out = [c.output for c in complete_all(batched, PROMPTS)]
    alone_out = [c.output for c in complete_all(alone, PROMPTS)]
    assert max(batched.batch_counts) == 16 and set(alone.batch_counts) == {1}
    assert len({len(p) for p in PROMPTS}) > 5  # prompts of many lengths: padding really happens
    assert batched_out == alone_out
    assert len(set(batched_out)) > 3  # non-trivial outputs


def test_different_params_batch_apart_and_a_cancelled_call_is_dropped(tiny_checkpoints: TinyCheckpoints) -> None:
    """Calls with other generation params form their own batch; a caller that gave up is skipped."""
    target = provider(tiny_checkpoints.base)
    requests = [
        ModelRequest(messages=tuple(messages_for(t)), params={"max_new_tokens": 8 if i % 2 else 24}, seed=i)
        for i, t in enumerate(PROMPTS[:12])
    ]

    async def run() -> list[Completion | BaseException]:
        tasks = [asyncio.create_task(target.complete(r)) for r in requests]
        await asyncio.sleep(0)  # all queued, none generated yet
        tasks[0].cancel()
        try:
            return list(await asyncio.gather(*tasks, return_exceptions=True))
        finally:
            await target.aclose()

    results = asyncio.run(run())
    assert isinstance(results[0], asyncio.CancelledError)
    assert dict(target.batch_counts) == {5: 1, 6: 1}  # 24-token calls minus the cancelled one; 8-token calls
    short = [r for r in results[1::2] if isinstance(r, Completion)]
    assert all(c.usage.output_tokens == 8 and c.finish_reason == "length" for c in short)


def test_adapter_outputs_differ_from_base_alone(tiny_checkpoints: TinyCheckpoints) -> None:
    """The LoRA adapter (and the full fine-tune) change answers on the same prompts."""
    base = outputs(tiny_checkpoints.base)
    lora = outputs(tiny_checkpoints.base, tiny_checkpoints.lora)
    tuned = outputs(tiny_checkpoints.tuned)
    assert sum(a != b for a, b in zip(base, lora)) >= 3
    assert sum(a != b for a, b in zip(base, tuned)) >= 3
    assert any('"shipping"' in out for out in tuned) and not any('"shipping"' in out for out in base)


def test_sampling_is_seeded_per_request(tiny_checkpoints: TinyCheckpoints) -> None:
    """Same seeds give the same samples, batched or not; other seeds give other samples."""
    params = {"temperature": 1.0, "max_new_tokens": 24}
    first = [c.output for c in complete_all(provider(tiny_checkpoints.base), PROMPTS, params, seed=7)]
    again = [c.output for c in complete_all(provider(tiny_checkpoints.base, batch_size=5), PROMPTS, params, seed=7)]
    other = [c.output for c in complete_all(provider(tiny_checkpoints.base), PROMPTS, params, seed=1000)]
    greedy = outputs(tiny_checkpoints.base)
    assert first == again
    assert first != other
    assert first != greedy


def test_finish_reason_and_usage(tiny_checkpoints: TinyCheckpoints) -> None:
    """`stop` counts tokens up to and including EOS; `length` stops at max_tokens (alias of max_new_tokens)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoints.base)
    prompt = tokenizer.apply_chat_template(messages_for(PROMPTS[0]), add_generation_prompt=True, return_dict=True)
    prompt_len = len(prompt["input_ids"])
    stopped = complete_all(provider(tiny_checkpoints.base), [PROMPTS[0]])[0]
    cut = complete_all(provider(tiny_checkpoints.base), [PROMPTS[0]], {"max_tokens": 4})[0]
    assert stopped.finish_reason == "stop" and stopped.output.startswith("{")
    answer_ids = tokenizer(stopped.output, add_special_tokens=False)["input_ids"]
    assert stopped.usage.input_tokens == prompt_len
    assert stopped.usage.output_tokens == len(answer_ids) + 1  # + EOS
    assert (cut.finish_reason, cut.usage.output_tokens, cut.usage.input_tokens) == ("length", 4, prompt_len)
    assert stopped.output.startswith(cut.output)


def test_unsupported_param_is_a_config_error(tiny_checkpoints: TinyCheckpoints) -> None:
    """A remote-only or misspelt param is refused with the list of supported ones, not ignored."""
    with pytest.raises(ConfigError, match=r"unsupported param 'stop'; supported: .*max_new_tokens"):
        complete_all(provider(tiny_checkpoints.base), PROMPTS[:1], {"stop": "}"})


def test_fingerprint_and_describe_drift(tiny_checkpoints: TinyCheckpoints, tmp_path: Path) -> None:
    """A different chat template is reported as drift; different weights only when asked for."""
    template = (tiny_checkpoints.base / "chat_template.jinja").read_text(encoding="utf-8")
    base = provider(tiny_checkpoints.base).fingerprint()
    same = provider(tiny_checkpoints.base).fingerprint()
    tuned = provider(tiny_checkpoints.tuned).fingerprint()
    lora = provider(tiny_checkpoints.base, tiny_checkpoints.lora).fingerprint()
    drifted = provider(
        tiny_checkpoints.base, options={"chat_template": template.replace("<|end|>", "\n")}
    ).fingerprint()
    assert set(base) == {"chat_template", "tokenizer", "generation_config", "weights"}
    assert base == same
    assert describe_drift(base, tuned) == [] and describe_drift(base, lora) == []
    assert describe_drift(base, tuned, ignore=()) == ["weights differ"]
    assert base["weights"] != lora["weights"] != tuned["weights"]
    assert describe_drift(base, drifted) == ["chat template differs"]
    changed = dict(base, generation_config="0", tokenizer="1")
    assert describe_drift(base, changed) == ["tokenizer differs", "generation config differs"]
    details = provider(tiny_checkpoints.base).drift_details()
    other = {**details, "generation_config": {**details["generation_config"], "repetition_penalty": 1.3},
             "tokenizer": {**details["tokenizer"], "eos_token": "</s>"}}  # fmt: skip
    assert describe_drift(base, changed, details=(details, other)) == [
        "tokenizer differs: eos_token '<|end|>' vs '</s>'",
        "generation config differs: repetition_penalty unset vs 1.3",
    ]


def test_chat_template_drift_between_baseline_and_candidate_is_reported_once(
    pytester: pytest.Pytester, tiny_checkpoints: TinyCheckpoints
) -> None:
    """A candidate whose chat template differs gets one warning naming where, under -n 2 too, kept in the manifest."""
    import shutil

    drifted = pytester.path / "drifted"
    shutil.copytree(tiny_checkpoints.tuned, drifted)
    template = drifted / "chat_template.jinja"
    template.write_text(template.read_text() + "{# a comment #}")  # same behaviour, different template text
    models = (
        f'[tool.promptcheck.model.base]\nprovider = "transformers"\npath = "{tiny_checkpoints.base}"\n\n'
        f'[tool.promptcheck.model.tuned]\nprovider = "transformers"\npath = "{drifted}"\n'
    )
    write_project(pytester, models, [case("a", "I was charged twice."), case("b", "My package is late.")],
                  names='"base", "tuned"')  # fmt: skip
    text = (
        (pytester.path / "pyproject.toml")
        .read_text()
        .replace('cache = "off"', 'cache = "off"\nbaseline = "base"\ncandidate = "tuned"')
    )
    (pytester.path / "pyproject.toml").write_text(text)
    original = template.read_text().removesuffix("{# a comment #}")
    line, column = original.count("\n") + 1, len(original) - original.rfind("\n")
    for args in ((), ("-n", "2")):
        result = pytester.runpytest(*args)
        result.assert_outcomes(passed=4)
        result.stdout.fnmatch_lines([
            "warning: baseline 'base' and candidate 'tuned' differ in more than weights; *",
            f"  - chat template differs at line {line}, column {column}: ?*? vs ?*{{# a comment #}}?",
        ])  # fmt: skip
        assert result.stdout.str().count("differ in more than weights") == 1
    runs = sorted((pytester.path / ".promptcheck" / "runs").iterdir())
    manifest = json.loads((runs[-1] / "manifest.json").read_text())
    assert len(manifest["drift"]) == 1 and manifest["drift"][0].startswith(
        f"chat template differs at line {line}, column {column}: "
    )


def test_output_is_the_decoded_text_unnormalised() -> None:
    """The output is the generated tokens decoded as they are, as a server returns them: never stripped.

    The example's base checkpoint answers this ticket in prose; cut at 5 tokens the decoded text ends
    in a space (the 5th token is a bare "Ġ"), which `transformers serve` returned as is.
    """
    base = Path(__file__).parents[1] / "example_suite" / "models" / "base"
    ticket = "Ticket: Hey team, my parcel 585 arrived damaged. Whenever you can."
    system = "You are a support triage assistant. Answer with JSON only."
    target = provider(base)
    request = ModelRequest(
        messages=({"role": "system", "content": system}, {"role": "user", "content": ticket}),
        params={"max_tokens": 5}, seed=0,
    )  # fmt: skip

    async def run() -> Completion:
        try:
            return await target.complete(request)
        finally:
            await target.aclose()

    assert asyncio.run(run()).output == "This looks like a "
