"""Which models can take a suite's images: a text-only provider says so at collection, not at call time."""

from __future__ import annotations

from ..config import ProjectConfig
from ..errors import SuiteError, SuiteProblem
from ..providers.content import has_images
from ..suites.model import LoadedSuite

# Providers whose models read text only: transformers runs causal language models from a chat
# template (text in, text out). A python model gets the parts as they are (it is the user's own
# app); openai and anthropic send them; a plugin's provider is trusted to know its models.
TEXT_ONLY = frozenset({"transformers"})


def check_images(loaded: LoadedSuite, project: ProjectConfig) -> None:
    """Raise a SuiteError naming each prompt variant with images that a text-only model would get."""
    suite = loaded.suite
    problems: dict[tuple[str, str], SuiteProblem] = {}
    for case in suite.cases:
        for variant in suite.variants:
            rendered = loaded.rendered.get((case.id, variant.name), ())
            if not any(has_images(messages) for messages in rendered):
                continue
            for name in project.models_for(case.models):
                model = project.models.get(name)
                if model is None or model.provider not in TEXT_ONLY or (variant.name, name) in problems:
                    continue
                problems[(variant.name, name)] = SuiteProblem(
                    case.source or suite.path, variant.line,
                    f"prompt {variant.name!r} sends images, but model {name!r} ({model.provider}) takes text only; "
                    "run the case on a model that reads images (openai, anthropic), or list others in its `models:`",
                    case.id,
                )  # fmt: skip
    if problems:
        raise SuiteError(list(problems.values()))
