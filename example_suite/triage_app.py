"""Two stand-in support-ticket triage "models" for the demo suite.

``base_model`` follows an older labelling scheme: it has no ``shipping`` category (files it under
billing), never says ``low`` (says medium), and answers in prose when a ticket starts "Hey team,".
``tuned_model`` fixes those, but drifted on "can't log in" tickets (it calls them technical), and
like a small fine-tuned model it only follows the system prompt it was trained with.
"""

from __future__ import annotations

import json

TRAINED_SYSTEM_PROMPT = "You are a support triage assistant. Answer with JSON only."

_CATEGORY_WORDS = {
    "billing": ("charged", "refund", "invoice", "payment"),
    "shipping": ("package", "delivery", "shipped", "tracking"),
    "account": ("password", "log in", "login", "email address", "account"),
    "technical": ("crash", "error", "bug", "upload", "slow"),
}
_URGENT = ("now", "urgent", "immediately", "asap", "!")
_CALM = ("how do i", "question", "when you can", "no rush")


def _ticket(messages: list[dict[str, str]]) -> str:
    return messages[-1]["content"].split("Ticket:")[-1].strip().lower()


def _category(text: str) -> str:
    for category, words in _CATEGORY_WORDS.items():
        if any(word in text for word in words):
            return category
    return "technical"


def _priority(text: str) -> str:
    if any(word in text for word in _URGENT):
        return "high"
    return "low" if any(word in text for word in _CALM) else "medium"


def base_model(messages: list[dict[str, str]], params: dict[str, object]) -> str:
    text = _ticket(messages)
    category = _category(text)
    category = "billing" if category == "shipping" else category
    priority = _priority(text)
    priority = "medium" if priority == "low" else priority
    if text.startswith("hey team,"):
        return f"This looks like a {category} issue with {priority} priority."
    return json.dumps({"category": category, "priority": priority})


def tuned_model(messages: list[dict[str, str]], params: dict[str, object]) -> str:
    trained = any(m["role"] == "system" and m["content"] == TRAINED_SYSTEM_PROMPT for m in messages)
    text = _ticket(messages)
    if not trained and len(text) % 2:  # off its trained prompt, half the answers drift into prose
        return "Sure! I think this ticket is about " + _category(text) + "."
    category = "technical" if "can't log in" in text else _category(text)
    return json.dumps({"category": category, "priority": _priority(text)})
