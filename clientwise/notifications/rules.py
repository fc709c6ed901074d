"""Pure rules of notifications: finding @mentions in a text, and the idempotency key of a notification."""

from __future__ import annotations

import re

# "@" starts a mention where it does not continue a Latin word or an e-mail address (a@b.com names nobody; Chinese
# text runs straight into it: 请@rep_a看一下). The token runs
# over letters (any script), digits and . _ - ; which part of it is the username is decided against the usernames
# that exist (`mention_candidates`), so "@rep_a," and "@张三你好" find rep_a and 张三.
MENTION = re.compile(r"(?<![A-Za-z0-9_.@+\-])@([\w.\-]{1,150})")
MAX_MENTIONS = 20  # a note naming more people than this is a broadcast; the first twenty are told
MIN_NAME = 2


def mention_tokens(text: str) -> list[str]:
    """The distinct @tokens of `text`, lower-cased, in order of appearance (at most MAX_MENTIONS)."""
    out: list[str] = []
    for token in MENTION.findall(text or ""):
        token = token.rstrip(".-").lower()
        if len(token) >= MIN_NAME and token not in out:
            out.append(token)
            if len(out) == MAX_MENTIONS:
                break
    return out


def mention_candidates(tokens: list[str]) -> set[str]:
    """Every username a token could stand for: the token and each prefix of it of at least MIN_NAME characters."""
    return {t[:n] for t in tokens for n in range(MIN_NAME, len(t) + 1)}


def resolve_mentions(tokens: list[str], usernames: set[str]) -> list[str]:
    """For each token the longest existing (lower-cased) username it starts with; usernames in token order."""
    out: list[str] = []
    for token in tokens:
        for n in range(len(token), MIN_NAME - 1, -1):
            name = token[:n]
            if name in usernames:
                if name not in out:
                    out.append(name)
                break
    return out


def notification_key(target_type: str, target_id: int | None, dedupe_key: str = "") -> str:
    """What makes a notification unique for one recipient and kind: its target and the caller's dedupe key (e.g.
    the SLA clock, the reminder time, the message id). Periodic jobs that find the same fact again write nothing."""
    return f"{target_type}:{target_id if target_id is not None else ''}:{dedupe_key}"[:255]
