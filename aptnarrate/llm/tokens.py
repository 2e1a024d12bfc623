"""Count prompt tokens without ever touching the network.

``tiktoken.get_encoding`` downloads its vocabulary on first use, with no timeout, so it
is never called here. The o200k_base vocabulary (what gpt-4o, gpt-4.1 and gpt-5 models
use) ships as package data and is loaded directly after checking its sha256. When it is
missing or damaged, counts are a conservative estimate, and ``method`` says so.
"""

from __future__ import annotations

import binascii
import hashlib
import math
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

O200K_FILE = "o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# tiktoken_ext.openai_public.o200k_base()'s pre-tokenizer pattern
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
O200K_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

EXACT = "exact (o200k_base, vendored vocabulary)"
ESTIMATE_PIECES = "estimate (o200k pre-tokenizer pieces x 1.2; vocabulary file unavailable)"
ESTIMATE_BYTES = "estimate (UTF-8 bytes / 3; vocabulary file and regex package unavailable)"

# Chat formatting costs a few tokens per message and for priming the reply (OpenAI cookbook).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3

# Where a text may be cut without changing its o200k count: after a line break followed by
# a character that is neither whitespace nor "/". No piece of O200K_PATTERN spans such a
# place (only whitespace runs and the trailing "[\r\n/]*" of punctuation cross a line
# break), and BPE merges stay within pieces, so the count of the text is the sum of the
# counts of its parts. (Python's \s holds every Unicode White_Space character, so this is
# never looser than the tokenizer's \s.)
_SAFE_CUT = re.compile(r"(?<=\n)(?=[^\s/])")
_LINE_CACHE_MAX = 50_000  # distinct parts remembered per process; attacker-controlled text stays bounded
_TEXT_CACHE_MAX = 500_000  # distinct (form, text) pairs remembered by count_many


@dataclass(frozen=True)
class TokenCounter:
    """Counts tokens in text; ``method`` says whether counts are exact or estimated."""

    method: str
    _count: object  # Callable[[str], int]
    _parts: dict = field(default_factory=dict, compare=False, repr=False)  # part of a text -> its count
    _texts: dict = field(default_factory=dict, compare=False, repr=False)  # (form, text) -> count of form(text)

    @property
    def exact(self) -> bool:
        return self.method == EXACT

    def count(self, text: str) -> int:
        return self._count(text)  # type: ignore[operator]

    def count_by_lines(self, text: str) -> int:
        """``count(text)``, counted in parts cut where the count is additive (``_SAFE_CUT``),
        each distinct part once per process: a prompt fitted to its budget is counted again
        after each change, and most of its lines are the same each time. Estimates are not
        additive (rounded up per text), so they count the whole text."""
        if not self.exact:
            return self.count(text)
        parts = self._parts
        if len(parts) > _LINE_CACHE_MAX:
            parts.clear()
        total = 0
        for part in _SAFE_CUT.split(text):
            tokens = parts.get(part)
            if tokens is None:
                tokens = parts[part] = self.count(part)
            total += tokens
        return total

    def count_many(self, texts: list[str], form=None) -> list[int]:
        """``count(form(text))`` for each of ``texts`` (``form`` defaults to the text itself),
        each distinct (form, text) counted once per counter: prompts are fitted from
        per-description costs, and a batch's inputs share most descriptions. The cache is
        this counter's own (an estimate never reuses an exact count) and only ever read into
        a local table, so a thread clearing it meanwhile costs a recount, not a wrong answer."""
        known = self._texts
        if len(known) > _TEXT_CACHE_MAX:
            known.clear()
        counts: dict[str, int] = {}
        for text in dict.fromkeys(texts):
            key = (form, text)
            tokens = known.get(key)
            if tokens is None:
                tokens = known[key] = self.count(form(text) if form is not None else text)
            counts[text] = tokens
        return [counts[text] for text in texts]

    def count_messages(self, messages: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> int:
        """Tokens a chat request's messages cost, formatting overhead included."""
        return sum(TOKENS_PER_MESSAGE + self.count(role) + self.count_by_lines(text) for role, text in messages) + TOKENS_PER_REPLY


_COUNTER_LOCK = threading.Lock()


def counter() -> TokenCounter:
    """The best counter available here, built once per process (a warm-up thread may load
    it while the input is read; a caller arriving meanwhile waits for that load)."""
    with _COUNTER_LOCK:
        return _counter()


@lru_cache(maxsize=1)
def _counter() -> TokenCounter:
    encoding = load_o200k()
    if encoding is not None:
        # encode_ordinary: special-token strings inside untrusted text count as plain text,
        # as the API treats them in message content
        return TokenCounter(EXACT, lambda text: len(encoding.encode_ordinary(text)))
    return estimate_counter()


counter.cache_clear = _counter.cache_clear  # type: ignore[attr-defined]  # as with lru_cache: tests swap the vocabulary


def estimate_counter() -> TokenCounter:
    """The fallback: o200k pre-tokenizer pieces x 1.2, else UTF-8 bytes / 3 (logs run
    2.1-2.7 bytes a token). Pieces x 1.1 lands within ~6% of exact on logs and prose but
    undercounts some (corpus CSVs -1%, Python source -5%); 1.2 keeps the estimate above."""
    try:
        import regex
    except ImportError:  # pragma: no cover - regex ships with tiktoken
        return TokenCounter(ESTIMATE_BYTES, lambda text: math.ceil(len(text.encode("utf-8")) / 3))
    pattern = regex.compile(O200K_PATTERN)
    return TokenCounter(ESTIMATE_PIECES, lambda text: math.ceil(sum(1 for _ in pattern.finditer(text)) * 1.2))


def load_o200k():
    """The o200k_base ``tiktoken.Encoding`` from the vendored file, or None if unusable."""
    try:
        data = resources.files("aptnarrate.data").joinpath(O200K_FILE).read_bytes()
    except (FileNotFoundError, OSError):
        return None
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        return None
    try:
        import tiktoken
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    # "<base64 token> <rank>" per line; one split and two maps beat a loop over 200k lines
    # (binascii directly: what base64.b64decode calls, without its per-call wrapper)
    parts = data.split()
    ranks = dict(zip(map(binascii.a2b_base64, parts[0::2]), map(int, parts[1::2])))
    return tiktoken.Encoding(
        name="o200k_base", pat_str=O200K_PATTERN, mergeable_ranks=ranks, special_tokens=O200K_SPECIAL
    )
