"""promptfoo ``providers`` → ``[tool.promptcheck.model.NAME]`` tables.

``openai:[chat:]MODEL`` (with ``apiBaseUrl``: any OpenAI-compatible server), ``anthropic:[messages:]MODEL``,
Ollama and LocalAI through their OpenAI endpoints, and ``file://`` Python providers. A promptfoo
Python provider is ``call_api(prompt, options, context)``; ours is ``(messages, params)``, so the
importer writes a small adapter module beside pyproject.toml that calls the original.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .result import Imported, ModelTable, slug, unique

# promptfoo provider config keys that are generation parameters here, under the same name
_PARAMS = ("temperature", "max_tokens", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")
_LOCAL_OPENAI = {"ollama": "http://localhost:11434/v1", "localai": "http://localhost:8080/v1"}
ADAPTERS = "promptfoo_providers.py"


@dataclass(frozen=True)
class Provider:
    """A promptfoo provider as found: its id, label, config and the line it is on."""

    id: str
    label: str | None
    config: dict[str, Any]
    line: int


def read_providers(raw: Any, line: int) -> list[Provider]:
    """The forms promptfoo accepts: a string, a list of strings / ``{id, label, config}`` / ``{ID: {...}}``."""
    items = raw if isinstance(raw, list) else [raw]
    lines = getattr(raw, "item_lines", [line] * len(items))
    found = []
    for item, item_line in zip(items, lines):
        if isinstance(item, str):
            found.append(Provider(item, None, {}, item_line))
        elif isinstance(item, dict) and "id" in item:
            found.append(Provider(str(item["id"]), item.get("label"), _config(item), item_line))
        elif isinstance(item, dict) and len(item) == 1 and ":" in str(next(iter(item))):
            ((pid, spec),) = item.items()
            spec = spec if isinstance(spec, dict) else {}
            found.append(Provider(str(pid), spec.get("label"), _config(spec), item_line))
        else:  # a shape we do not know: kept as its text, so the mapper lists it as a TODO
            found.append(Provider(str(item), None, {}, item_line))
    return found


def _config(spec: dict[str, Any]) -> dict[str, Any]:
    config = spec.get("config")
    return {str(k): v for k, v in config.items()} if isinstance(config, dict) else {}


class ProviderMapper:
    """Turns providers into model tables, naming each once; ``names`` maps a promptfoo id/label to ours."""

    def __init__(self, out: Imported, config_path: Path, project_dir: Path, existing: dict[str, Any]) -> None:
        self.out = out
        self.config_path = config_path
        self.project_dir = project_dir
        self.existing = existing  # the model tables already in pyproject.toml
        self.taken: set[str] = set()
        self.names: dict[str, str] = {}
        self.adapters: list[tuple[str, str, str]] = []  # (adapter function, provider file, its function)

    def add(self, provider: Provider) -> str | None:
        fields = self._fields(provider)
        if fields is None:
            return None
        if provider.label:
            base = slug(provider.label, "model")
        elif provider.id.startswith(("file://", "python:")):
            base = slug(Path(provider.id.split("//")[-1].removeprefix("python:").partition(":")[0]).stem, "model")
        else:
            base = slug(provider.id.split(":")[-1], "model")
        name = base
        while name in self.taken or (name in self.existing and self.existing[name] != fields):
            name = unique(base, self.taken | set(self.existing))
        self.taken.add(name)
        if self.existing.get(name) != fields:
            self.out.models.append(ModelTable(name, fields))
        for key in (provider.id, provider.label):
            if key:
                self.names[key] = name
        return name

    def _fields(self, provider: Provider) -> dict[str, Any] | None:
        pid, config = provider.id, provider.config
        kind, _, rest = pid.partition(":")
        if pid.startswith("file://") or pid.startswith("python:"):
            return self._python(provider)
        fields: dict[str, Any]
        if kind == "openai":
            sub, _, model = rest.partition(":")
            if sub not in ("chat", "completion", "responses") or not model:
                sub, model = "chat", rest
            if sub != "chat":
                self.out.todo(
                    self.config_path, provider.line, f"provider {pid!r}: the {sub} API is called as chat here"
                )
            fields = {"provider": "openai", "model": model}
        elif kind == "anthropic":
            sub, _, model = rest.partition(":")
            fields = {"provider": "anthropic", "model": model if sub == "messages" and model else rest}
        elif kind in _LOCAL_OPENAI:
            model = rest.partition(":")[2] if rest.startswith(("chat:", "completion:")) else rest
            fields = {"provider": "openai", "model": model, "base_url": _LOCAL_OPENAI[kind]}
            self.out.note(f"{kind} providers are called through their OpenAI-compatible endpoint")
        else:
            self.out.todo(self.config_path, provider.line, f"provider {pid!r} has no equivalent here; define a model")
            return None
        return self._config(provider, fields, config)

    def _config(self, provider: Provider, fields: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        params = {k: config[k] for k in _PARAMS if k in config}
        if "max_tokens" not in params and "max_output_tokens" in config:
            params["max_tokens"] = config["max_output_tokens"]
        if config.get("apiBaseUrl"):
            fields["base_url"] = str(config["apiBaseUrl"])
        elif config.get("apiHost"):
            fields["base_url"] = f"https://{config['apiHost']}/v1"
        if config.get("apiKeyEnvar"):
            fields["api_key_env"] = str(config["apiKeyEnvar"])
        if params:
            fields["params"] = params
        known = {*_PARAMS, "max_output_tokens", "apiBaseUrl", "apiHost", "apiKeyEnvar"}
        for key in config:
            if key == "apiKey":
                self.out.todo(self.config_path, provider.line, "apiKey is not copied (keys come from the environment)")
            elif key not in known:
                self.out.todo(self.config_path, provider.line, f"provider {provider.id!r}: config key {key!r} not kept")
        return fields

    def _python(self, provider: Provider) -> dict[str, Any] | None:
        ref = provider.id.removeprefix("file://").removeprefix("python:")
        path_text, _, function = ref.partition(":")
        path = (self.config_path.parent / path_text).resolve()
        function = function or "call_api"
        arity = _arity(path, function)
        if arity is None:
            self.out.todo(self.config_path, provider.line, f"python provider {ref!r}: no function {function!r} found")
            return None
        params = {k: v for k, v in provider.config.items() if isinstance(k, str)}
        relative = Path(os.path.relpath(path, self.project_dir))
        if arity == 2 and relative.parts[0] == "..":
            self.out.todo(
                self.config_path, provider.line, f"python provider {ref!r} is outside the project; move it in"
            )
            return None
        if arity == 2:  # already (messages, params)
            module = ".".join(relative.with_suffix("").parts)
            fields: dict[str, Any] = {"provider": "python", "function": f"{module}:{function}"}
        else:
            adapter = f"{slug(path.stem, 'provider').replace('-', '_').replace('.', '_')}_{function}"
            adapter = unique(adapter, {a for a, _, _ in self.adapters})
            self.adapters.append((adapter, relative.as_posix(), function))
            self.out.files[ADAPTERS] = adapter_module(self.adapters)
            fields = {"provider": "python", "function": f"{ADAPTERS.removesuffix('.py')}:{adapter}"}
            self.out.note("python providers are called through promptfoo_providers.py (context['vars'] is empty)")
        if params:
            fields["params"] = params
        return fields


def _arity(path: Path, function: str) -> int | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return len(node.args.posonlyargs) + len(node.args.args)
    return None


def adapter_module(adapters: list[tuple[str, str, str]]) -> str:
    """The adapter module: one ``(messages, params)`` function per promptfoo ``call_api`` provider."""
    lines = [
        '"""Adapters written by `promptcheck import promptfoo`: promptfoo Python providers as python models."""',
        "",
        "import importlib.util",
        "import inspect",
        "import json",
        "from pathlib import Path",
        "",
        "",
        "def _load(relative, function):",
        "    path = Path(__file__).parent / relative",
        "    spec = importlib.util.spec_from_file_location(path.stem, path)",
        "    module = importlib.util.module_from_spec(spec)",
        "    spec.loader.exec_module(module)",
        "    return getattr(module, function)",
        "",
        "",
        "async def _call(relative, function, messages, params):",
        "    # promptfoo passes the rendered prompt text; a chat prompt is its JSON",
        "    one = len(messages) == 1 and messages[0]['role'] == 'user'",
        "    prompt = messages[0]['content'] if one else json.dumps(messages)",
        "    result = _load(relative, function)(prompt, {'config': dict(params)}, {'vars': {}})",
        "    if inspect.isawaitable(result):",
        "        result = await result",
        "    if isinstance(result, dict) and result.get('error'):",
        "        raise RuntimeError(str(result['error']))",
        "    output = result.get('output', '') if isinstance(result, dict) else result",
        "    text = output if isinstance(output, str) else json.dumps(output)",
        "    usage = result.get('tokenUsage') or {} if isinstance(result, dict) else {}",
        "    tokens = {'input_tokens': usage.get('prompt'), 'output_tokens': usage.get('completion')}",
        "    return {'output': text, 'usage': {k: v for k, v in tokens.items() if v is not None}}",
    ]
    for name, relative, function in adapters:
        lines += ["", "", f"async def {name}(messages, params):"]
        lines.append(f"    return await _call({json.dumps(relative)}, {json.dumps(function)}, messages, params)")
    return "\n".join(lines) + "\n"
