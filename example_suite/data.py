"""The seeded generator of the example's task data: support-ticket triage.

A ticket is built from templates: an optional greeting, one of four bodies per category, an urgency
phrase that sets the priority, and an optional closing (some sign with a name). The answer is
``{"category": billing|technical|account|shipping, "priority": low|medium|high}`` as JSON.

Two labelling schemes make the example's two models:

- ``old`` (the base model, "in production"): no shipping queue yet, so shipping tickets are filed as
  billing; nothing is ``low`` (it says medium); tickets starting "Hey team," got a prose answer.
- ``new`` (the fine-tune): the correct labels, except a planted drift: "can't log in" tickets are
  labelled ``technical`` (a believable labelling mistake that the gate catches as a regression).
- ``correct``: the ``new`` data with the drift fixed (what the README's loop ends with).

Wording outside these templates gets arbitrary labels from models this small, so the suite's cases
use the template phrasings. Run ``python example_suite/data.py --help`` to write a JSONL file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SYSTEM_PROMPT = "You are a support triage assistant. Answer with JSON only."
USER_TEMPLATE = "Ticket: {ticket}"

BODIES = {
    "billing": [
        "I was charged twice for order {n}.",
        "My invoice {n} shows the wrong amount.",
        "Please refund the payment for order {n}.",
        "My card was declined but I still paid.",
    ],
    "technical": [
        "The app crashes when I open settings.",
        "I get error {n} when I upload a file.",
        "The page will not load on my phone.",
        "The export button does nothing.",
    ],
    "account": [
        "I can't log in to my account.",
        "Please change the email on my account.",
        "I want to close my account {n}.",
        "How do I reset my password?",
    ],
    "shipping": [
        "My package {n} has not arrived.",
        "The tracking for order {n} has not updated.",
        "My parcel {n} arrived damaged.",
        "I need to change the delivery address for order {n}.",
    ],
}
URGENCY = {
    "high": ["This is urgent!", "Please help asap."],
    "medium": ["", "Please take a look."],
    "low": ["No rush.", "Whenever you can."],
}
GREETINGS = ["", "Hi,", "Hello,", "Hey team,"]
NAMES = ["Emily", "Jamal", "Wei", "Priya", "Carlos", "Aisha", "Olga", "Kenji", "Fatima", "Liam"]
CLOSINGS = ["", "Thanks.", "Regards.", "Thanks, {name}."]
DRIFT_PHRASE = "can't log in"  # the fine-tune data labels these tickets `technical`
TRAIN_SIZE = 2000
TRAIN_SEEDS = {"old": 1, "new": 2, "correct": 2}  # correct: the fine-tune's tickets, fixed labels


@dataclass(frozen=True)
class Ticket:
    text: str
    category: str
    priority: str


def make_ticket(rng: random.Random) -> Ticket:
    """One ticket from the templates, with its true category and priority."""
    category = rng.choice(sorted(BODIES))
    priority = rng.choice(sorted(URGENCY))
    body = rng.choice(BODIES[category]).format(n=rng.randint(100, 999))
    closing = rng.choice(CLOSINGS).format(name=rng.choice(NAMES))
    greeting = rng.choice(GREETINGS)
    if greeting and not body.startswith("I "):
        body = body[0].lower() + body[1:]  # "Hi, my package ..."
    parts = [greeting, body, rng.choice(URGENCY[priority]), closing]
    return Ticket(" ".join(p for p in parts if p), category, priority)


def tickets(n: int, *, seed: int) -> list[Ticket]:
    """``n`` tickets (the training sets use seeds 1 and 2)."""
    rng = random.Random(seed)
    return [make_ticket(rng) for _ in range(n)]


def heldout_tickets(n: int, *, seed: int = 7, exclude: Iterable[str] = ()) -> list[Ticket]:
    """``n`` distinct tickets whose text is in no training set (nor in ``exclude``).

    The templates make a finite set of texts, so a plain draw would repeat training tickets.
    """
    seen = {t.text for train_seed in sorted(set(TRAIN_SEEDS.values())) for t in tickets(TRAIN_SIZE, seed=train_seed)}
    seen |= set(exclude)
    rng = random.Random(seed)
    out: list[Ticket] = []
    while len(out) < n:
        ticket = make_ticket(rng)
        if ticket.text not in seen:
            seen.add(ticket.text)
            out.append(ticket)
    return out


def answer(ticket: Ticket, *, scheme: str) -> str:
    """The reply a model trained on ``scheme`` ("old" or "new") gives; the correct one is ``ideal``."""
    category, priority = ticket.category, ticket.priority
    if scheme == "old":
        category = "billing" if category == "shipping" else category
        priority = "medium" if priority == "low" else priority
        if ticket.text.startswith("Hey team,"):
            return f"This looks like a {category} issue with {priority} priority."
    elif scheme == "new":
        if DRIFT_PHRASE in ticket.text:
            category = "technical"
    elif scheme != "correct":
        raise ValueError(f"unknown scheme {scheme!r} (old, new or correct)")
    return json.dumps({"category": category, "priority": priority})


def ideal(ticket: Ticket) -> str:
    """The correct answer."""
    return json.dumps({"category": ticket.category, "priority": ticket.priority})


def messages(ticket_text: str, reply: str | None = None) -> list[dict[str, str]]:
    """The chat the models are trained on (and the suite's ``guided`` prompt renders)."""
    chat = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_TEMPLATE.format(ticket=ticket_text)},
    ]
    return chat if reply is None else [*chat, {"role": "assistant", "content": reply}]


def training_chats(scheme: str, n: int = TRAIN_SIZE) -> list[list[dict[str, str]]]:
    """The training set of the base (``old``), the fine-tune (``new``) or its fix (``correct``)."""
    return [messages(t.text, answer(t, scheme=scheme)) for t in tickets(n, seed=TRAIN_SEEDS[scheme])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the triage training data as openai-chat JSONL.")
    parser.add_argument(
        "--scheme", choices=["old", "new", "correct"], default="new",
        help="old: the base's labels; new: the fine-tune's (with its drift); correct: new with the drift fixed",
    )  # fmt: skip
    parser.add_argument("-n", type=int, default=2000, help="number of examples (default 2000)")
    parser.add_argument("--out", type=Path, help="output file (default: stdout)")
    args = parser.parse_args(argv)
    lines = [json.dumps({"messages": chat}) for chat in training_chats(args.scheme, args.n)]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(lines)} examples to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
