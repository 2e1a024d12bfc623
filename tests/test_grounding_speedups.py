"""The grounding's fast paths give what the plain code they replace gives."""

from __future__ import annotations

import random

from aptnarrate.grounding import ground, mentions
from aptnarrate.models import APT_STAGES


def test_the_stage_name_gate_agrees_with_the_pattern():
    """``_may_name_a_stage`` (substring search of an ASCII text's lower case) finds a stage
    name exactly where ``_STAGE_NAMES`` (``re.IGNORECASE``) does, characters that fold to
    ASCII letters under IGNORECASE (Kelvin sign, long s, dotted I) included."""
    rng = random.Random(3)
    pieces = [*APT_STAGES, "covering", "tracks", "Data", "exfil", "tration", " ", "\u212a", "\u017f", "\u0130", "LATERAL MOVEMENT", "x"]
    samples = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 5))) for _ in range(3000)]
    samples += ["Covering Tracks", "covering tracks", "COVERING\u00a0TRACKS", "Lateral Movement\u0130", "Data Exfiltration" * 3]
    found = 0
    for text in samples:
        expected = ground._STAGE_NAMES.search(text) is not None
        assert ground._may_name_a_stage(text) == expected, text
        found += expected
    assert 500 < found < len(samples)  # both answers are tried


def test_normalise_blanks_line_like_invisible_characters_and_drops_the_others():
    """The two fixed substitutions do what one that chose per character did: a line-like
    invisible character becomes a space, any other invisible character goes."""

    def chosen_per_character(text: str) -> str:
        return mentions._INVISIBLE_OR_BREAK.sub(lambda m: " " if m.group(0) in mentions._WHITESPACE_CONTROLS else "", text)

    every = "".join(chr(i) for i in range(0x3100) if not 0xD800 <= i <= 0xDFFF) + "\ufeff\U000e0001x"
    two_passes = mentions._INVISIBLE_OR_BREAK.sub("", mentions._LINE_LIKE_INVISIBLE.sub(" ", every))
    assert two_passes == chosen_per_character(every)
    assert mentions.normalise("a\nb\u200bc\u2028d") == "a bc d"


def test_file_names_judges_a_repeated_token_as_the_first_time():
    """A token judged once is read from the cache; a long one is judged each time, not kept."""
    text = "ran /tmp/x.sh and e.g. x.sh, T1059.001 then `/tmp/x.sh` at 10.0.0.1"
    mentions._FILE_TOKENS.clear()
    cold = mentions.file_names(text)
    assert cold == ["/tmp/x.sh", "x.sh", "/tmp/x.sh"]
    assert mentions.file_names(text) == cold
    long_name = "a" * (mentions._MAX_FILE_TOKEN + 1) + ".sh"
    assert mentions.file_names(long_name) == [long_name]
    assert long_name not in mentions._FILE_TOKENS
