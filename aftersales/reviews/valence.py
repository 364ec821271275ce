"""English word valences (the VADER lexicon), read the quick way.

The trained model learns English from only 1,600 sentences, so most English
words it has never seen. :class:`Valences` brings 7,000 English words with
a valence rated by people (VADER's lexicon: "horrible" -2.5, "lousy" -2.0,
"great" +3.1; MIT, © 2016 C.J. Hutto), read with VADER's two most useful
rules and nothing slower: a negation among the three words before a word
scales it by -0.74, and a "but" halves what came before it and weighs what
follows by 1.5. The sum is squashed into -1..1 like VADER's compound score.
Texts without Latin letters score 0 at the cost of one regex search.

The valences ship inside the packaged model file (``valences``), so a shop's
saved model carries them too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Valences"]

_LATIN = re.compile(r"[a-z]")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NEGATIONS = frozenset(
    {"not", "no", "never", "nothing", "none", "nobody", "nowhere", "without", "nor",
     "neither", "hardly", "barely", "cannot", "aint", "ain't"}
)
_CONTRAST = frozenset({"but", "however", "though", "although"})
_NEGATION_SCALE = -0.74  # VADER's
_ALPHA = 15.0  # VADER's normalization constant
_MAX_CHARS = 2000


@dataclass(frozen=True)
class Valences:
    """Word → valence (about -4..4), and the rules that read them."""

    words: Mapping[str, float]

    def score(self, norm: str) -> float:
        """The valence of a normalized text in -1..1 (above 0 positive)."""
        if not _LATIN.search(norm):
            return 0.0
        words = _WORD.findall(norm[:_MAX_CHARS])
        get = self.words.get
        found: list[tuple[int, float]] = []
        contrast = -1
        for i, word in enumerate(words):
            if word in _CONTRAST:
                contrast = i
                continue
            value = get(word)
            if value is None:
                continue
            before = words[max(0, i - 3) : i]
            if any(w in _NEGATIONS or w.endswith("n't") for w in before):
                value *= _NEGATION_SCALE
            found.append((i, value))
        if not found:
            return 0.0
        total = 0.0
        for i, value in found:
            if contrast >= 0:
                value *= 0.5 if i < contrast else 1.5
            total += value
        return total / math.sqrt(total * total + _ALPHA)
