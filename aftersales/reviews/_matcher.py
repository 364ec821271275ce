"""Find every lexicon term in a text in one pass of one compiled regex.

The terms are folded into a character trie and written out as a regex whose
alternatives share their prefixes, so the engine follows one branch per
character instead of trying every term at every position. Alternatives are
ordered so the longest term wins (不错 over 不, "not as described" over
"not"). English terms match whole words only; a term ending in ``*`` also
matches any longer word (``scratch*`` finds "scratched").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Match", "Matcher"]

_Node = dict[str, Any]
_END = ""
_WILD = "*"
# Clause punctuation: a negation or intensifier never reaches across it.
_PUNCT = r"[,.!?;:，。！？；：、~～…\n()（）\"“”]"
_LEAF = 8  # first characters tried one by one (see _by_first_char)


def _is_ascii(term: str) -> bool:
    return term.isascii()


def _trie(terms: Iterable[str]) -> _Node:
    root: _Node = {}
    for term in terms:
        wild = term.endswith(_WILD)
        node = root
        for char in term.rstrip(_WILD) if wild else term:
            node = node.setdefault(char, {})
        node[_WILD if wild else _END] = {}
    return root


def _pattern(node: _Node) -> str:
    branches = [
        re.escape(char) + _pattern(child)
        for char, child in sorted(node.items(), key=lambda kv: kv[0])
        if char not in (_END, _WILD)
    ]
    if _WILD in node:
        branches.append("[a-z]*")
    elif _END in node:
        branches.append("")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def _by_first_char(ascii_root: _Node, other_root: _Node) -> str:
    """The terms' pattern, dispatched on their first character.

    The regex engine tries the alternatives of a group one by one, so one
    alternative per first character (hundreds of them in Chinese) would cost
    hundreds of tries at every position of a review. Instead the first
    characters are split in halves, each behind a lookahead of its character
    class (one table look-up), down to groups of a few: a handful of tries a
    position. At any position only the alternatives starting with its
    character can match, and those keep their order (English terms, which
    match whole words only, before the others), so the matches are the same
    as those of one flat alternation.
    """
    groups: list[tuple[str, str]] = []
    for char in sorted(set(ascii_root) | set(other_root)):
        alternatives = []
        if char in ascii_root:  # not after a letter or digit, nor followed by one
            alternatives.append(
                re.escape(char) + "(?<![a-z0-9].)" + _pattern(ascii_root[char]) + "(?![a-z0-9])"
            )
        if char in other_root:
            alternatives.append(re.escape(char) + _pattern(other_root[char]))
        groups.append((char, "|".join(alternatives)))
    return _halves(groups)


def _halves(groups: list[tuple[str, str]]) -> str:
    if len(groups) <= _LEAF:
        return "(?:" + "|".join(pattern for _, pattern in groups) + ")"
    middle = len(groups) // 2
    return "(?:" + "|".join(
        "(?=[" + "".join(re.escape(char) for char, _ in half) + "])" + _halves(half)
        for half in (groups[:middle], groups[middle:])
    ) + ")"


@dataclass(frozen=True, slots=True)
class Match:
    """One hit: the lexicon term (or ``None`` for clause punctuation) and where."""

    term: str | None
    start: int
    end: int


class Matcher:
    """All occurrences of a fixed set of terms, leftmost-longest, non-overlapping."""

    def __init__(self, terms: Iterable[str]) -> None:
        terms = set(terms)
        ascii_terms = sorted(t for t in terms if _is_ascii(t))
        other_terms = sorted(t for t in terms if not _is_ascii(t))
        self._stems = sorted(
            (t.rstrip(_WILD) for t in ascii_terms if t.endswith(_WILD)), key=len, reverse=True
        )
        parts = []
        if terms:
            parts.append(_by_first_char(_trie(ascii_terms), _trie(other_terms)))
        parts.append(f"(?P<p>{_PUNCT})")
        self._regex = re.compile("|".join(f"(?:{p})" for p in parts))
        self._terms = terms

    def _term(self, found: str) -> str:
        if found in self._terms:
            return found
        for stem in self._stems:  # a wildcard hit: name it by its stem
            if found.startswith(stem):
                return stem + _WILD
        return found

    def spans(self, text: str) -> list[tuple[str | None, int, int]]:
        """:meth:`find` as plain ``(term, start, end)`` tuples, all at once
        (the classifier's hot path: no object per hit)."""
        term = self._term
        return [
            (None, *hit.span()) if hit.lastgroup else (term(hit.group()), *hit.span())
            for hit in self._regex.finditer(text)
            if hit.lastgroup or hit.end() > hit.start()
        ]

    def find(self, text: str) -> Iterator[Match]:
        """Every term and clause mark in ``text`` (already normalized), in order."""
        for hit in self._regex.finditer(text):
            if hit.group("p") is not None:
                yield Match(None, hit.start(), hit.end())
            elif hit.end() > hit.start():
                yield Match(self._term(hit.group()), hit.start(), hit.end())
