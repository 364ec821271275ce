"""Turning Chinese and English text into search terms (pure; no I/O).

Buyers write short, colloquial questions with typos, and Chinese has no
spaces, so the knowledge base indexes several kinds of term and weighs them
differently at query time:

* ``w:`` an English (or other alphabetic) word, lower-cased, NFKC-folded
  (full-width letters become half-width), its chat spelling folded
  (``pls``, ``pkg``, ``rcvd``, ``colour``: :data:`WORD_VARIANTS`) and
  lightly stemmed (``refunded``, ``refunds`` and ``refundable`` are all
  ``refund``); function words and greetings are dropped;
* ``g:`` the character trigrams of each such word, padded with ``#`` at its
  ends, so a typo (``refnud``, ``recieved``) still shares most of its terms
  with the right word;
* ``b:`` every pair of adjacent Han characters (a bigram): the unit most
  Chinese words are made of, and why a two-character query such as ``退款``
  or ``发票`` matches, which a trigram index cannot do;
* ``c:`` every single Han character but a few particles, a weak signal that
  still matches an odd word order or a one-character variant.

Chinese is folded from traditional to simplified characters first
(:mod:`aftersales.kb.fold`), and chat filler (请问, 亲, 你好, 在吗, 麻烦,
谢谢: :data:`ZH_FILLER`) is cut out of a run before its pairs are taken, so
请问退货 gives the terms of 退货 alone and no 问退.

:func:`query_terms` also expands the query with the synonym groups below
(``退钱`` also looks for ``退款``; ``parcel`` also for ``package``), at a
lower weight than the words the buyer wrote.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

from aftersales.kb.fold import fold_traditional

__all__ = [
    "KIND_WEIGHTS",
    "SYNONYMS",
    "WORD_VARIANTS",
    "ZH_FILLER",
    "document_terms",
    "normalize",
    "query_terms",
    "stem",
    "typo_terms",
]

#: How much one matching term of each kind counts in a query.
KIND_WEIGHTS: Mapping[str, float] = {"w": 1.0, "g": 0.25, "b": 1.0, "c": 0.3}
#: How much a synonym's terms count next to the words the buyer wrote.
SYNONYM_WEIGHT = 0.7
#: The longest term kept (the index column holds 80 characters).
MAX_TERM = 60

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_HAN}]+|[^\W_{_HAN}]+")
_HAN_RUN = re.compile(rf"[{_HAN}]+")

_EN_STOP_WORDS = (
    "a an the i im i'm me my mine you your u ur we our us it its is are was were be been "
    "am to of for and or in on at by with this that these those so just please pls plz hi "
    "hello hey there also very really do does did has have had got get can could would "
    "will shall should may might if then than but as from about into out up any some "
    "dear seller sir madam mam team thanks thank kindly ok okay lol guys regards"
)
_EN_STOP = frozenset(_EN_STOP_WORDS.split())
# Particles and pronouns that carry no topic on their own (as single characters).
_ZH_STOP = frozenset("的了吗呢啊吧呀嘛么我你他她它们是在有就都也还和与及或么哦噢哈啦")
#: What buyers write around a question in a chat and means nothing on its
#: own: greetings, forms of address, thanks. Cut out of a run of Chinese
#: (in entries and queries alike) before its pairs are taken.
ZH_FILLER: tuple[str, ...] = (
    "请问", "请教", "亲亲", "亲爱的", "亲", "你好", "您好", "哈喽", "在吗", "在不在",
    "麻烦你", "麻烦您", "麻烦", "谢谢", "多谢", "感谢", "家人们", "谁懂啊", "老板", "掌柜",
    "客服小姐姐", "小姐姐",
)
_FILLER = re.compile("|".join(sorted(map(re.escape, ZH_FILLER), key=len, reverse=True)))
#: English chat spellings, abbreviations and British spellings, folded to one
#: word before stemming (a word may fold to a function word and be dropped).
WORD_VARIANTS: Mapping[str, str] = {
    "u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks",
    "ty": "thanks", "pkg": "package", "pkge": "package", "rcvd": "received",
    "recvd": "received", "addr": "address", "msg": "message", "qty": "quantity",
    "colour": "color", "colours": "colors", "grey": "gray", "cancelled": "canceled",
    "cancelling": "canceling", "wanna": "want", "dont": "do", "didnt": "did",
    "doesnt": "does", "cant": "can", "wont": "will", "isnt": "is", "hasnt": "has",
    "havent": "have", "im": "i", "ive": "i", "whats": "what", "wheres": "where",
}

#: Groups of words that mean the same thing to a buyer; a query containing
#: one also looks for the others. Chinese members match as substrings,
#: English ones as whole words (after stemming).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("退款", "退钱", "钱退", "返款"),
    ("快递", "物流", "包裹"),
    ("到货", "收到", "签收", "送到"),
    ("发货", "发出", "寄出", "揽收", "揽件"),
    ("破损", "坏了", "损坏", "摔坏", "碎了", "压坏"),
    ("换货", "调换", "换一个", "换个"),
    ("少件", "漏发", "少发", "缺件", "少了"),
    ("发错", "错发", "不对", "不一样"),
    ("发票", "开票"),
    ("没收到", "没到", "还没来", "还没到", "没送到", "未收到", "收不到"),
    ("质量", "起球", "开线", "异味", "做工", "劣质", "开胶", "脱胶", "脱线"),
    ("安全隐患", "冒烟", "发烫", "起火", "着火", "焦味", "漏电", "跳闸", "触电", "鼓包", "爆炸"),
    ("不理人", "不回消息", "不回复", "没人回", "没人理"),
    ("说明书", "使用说明", "教程"),
    ("快递公司", "顺丰", "邮政", "中通", "圆通", "申通", "韵达", "极兔", "德邦"),
    ("尺码", "码数", "大小", "尺寸"),
    ("掉色", "褪色", "染色"),
    ("假货", "正品", "假的", "山寨"),
    ("运费", "邮费"),
    ("refund", "money back", "reimburse"),
    ("parcel", "package", "delivery", "shipment"),
    ("track", "tracking"),
    ("broken", "damaged", "cracked", "smashed"),
    ("wrong", "incorrect", "different"),
    ("missing", "lost"),
    ("invoice", "receipt", "vat"),
    ("fake", "counterfeit", "genuine", "authentic", "knockoff", "replica"),
    ("quality", "defective", "faulty", "defect"),
    ("manual", "instruction", "guide"),
    ("customer service", "support", "service"),
    ("reply", "answer", "respond", "response"),
    ("unsubscribe", "opt out", "stop contacting"),
    ("delete", "erase", "remove"),
    ("price protection", "price drop", "cheaper", "lower price"),
    ("courier", "carrier", "dhl", "fedex", "usps", "ems"),
    ("return", "send back"),
    ("size", "fit", "small", "big"),
    ("exchange", "swap", "replace"),
    ("cancel", "cancellation"),
)


def normalize(text: str) -> str:
    """``text`` NFKC-folded (full-width → half-width), lower-cased, traditional → simplified."""
    return fold_traditional(unicodedata.normalize("NFKC", text).casefold())


def stem(word: str) -> str:
    """A light English stem: ``refunded``, ``refunding``, ``refunds`` → ``refund``.

    Deliberately simple (a few suffixes and a final ``e``), so a word and
    its inflections meet, without an external stemmer; ``-able`` goes too
    (``refundable``, ``returnable``), and a consonant doubled before a
    suffix is undoubled (``shipped``, ``dropping`` → ``ship``, ``drop``).
    """
    w = word.removesuffix("'s")
    if len(w) > 7 and w.endswith("able"):
        w = w[:-4]
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith("sses"):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    suffixed = w
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    if w != suffixed and len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # shipped, dropping → ship, drop (but added, called, missed stay)
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def _word_terms(word: str) -> Iterable[str]:
    word = WORD_VARIANTS.get(word, word)
    if word in _EN_STOP:
        return
    s = stem(word)
    yield f"w:{s}"[:MAX_TERM]
    if len(s) >= 3 and not s.isdigit():
        padded = f"#{s}#"
        for i in range(len(padded) - 2):
            yield f"g:{padded[i:i + 3]}"


def _han_terms(run: str) -> Iterable[str]:
    for ch in run:
        if ch not in _ZH_STOP:
            yield f"c:{ch}"
    for i in range(len(run) - 1):
        pair = run[i:i + 2]
        if not (pair[0] in _ZH_STOP and pair[1] in _ZH_STOP):
            yield f"b:{pair}"


def terms(text: str) -> list[str]:
    """Every term of ``text``, in order, with repeats (see the module docstring)."""
    out: list[str] = []
    for match in _RUNS.finditer(normalize(text)):
        run = match.group(0)
        if _HAN_RUN.fullmatch(run):
            for piece in _FILLER.split(run):
                out.extend(_han_terms(piece))
        else:
            out.extend(_word_terms(run))
    return out


def document_terms(fields: Iterable[tuple[str, int]]) -> Counter[str]:
    """The weighted term counts of a document made of ``(text, weight)`` fields."""
    counts: Counter[str] = Counter()
    for text, weight in fields:
        for term in terms(text):
            counts[term] += weight
    return counts


def _present(member: str, text: str, words: set[str]) -> bool:
    if _HAN_RUN.search(member):
        return member in text
    return all(stem(part) in words for part in member.split())


def _synonyms_of(text: str, words: set[str]) -> list[str]:
    found: list[str] = []
    for group in SYNONYMS:
        present = [_present(m, text, words) for m in group]
        if any(present):
            found.extend(m for m, here in zip(group, present, strict=True) if not here)
    return found


def typo_terms(query: str) -> dict[str, set[str]]:
    """Each word term of ``query`` and its synonyms (``w:…``) → its trigram terms (``g:…``).

    The search uses a word's trigrams only when the word itself is in no
    entry (most likely a typo): a known word is matched as a word, and the
    trigrams of common words would otherwise be most of a query's cost.
    """
    text = normalize(query)
    words = [w for w in _RUNS.findall(text) if not _HAN_RUN.fullmatch(w)]
    own = {t[2:] for w in words for t in _word_terms(w) if t.startswith("w:")}
    words += [p for s in _synonyms_of(text, own) for p in s.split() if not _HAN_RUN.search(s)]
    out: dict[str, set[str]] = {}
    for word in words:
        found = list(_word_terms(word))
        if found:
            out.setdefault(found[0], set()).update(found[1:])
    return out


def query_terms(query: str) -> dict[str, float]:
    """The terms of a buyer's query with the weight each counts for.

    A term's weight is its kind's weight (:data:`KIND_WEIGHTS`), summed over
    repeats; synonyms of what the buyer wrote join at
    :data:`SYNONYM_WEIGHT` of their own weight, never above a term the buyer
    wrote.
    """
    text = normalize(query)
    weights: dict[str, float] = {}
    own = terms(text)
    for term in own:
        weights[term] = max(weights.get(term, 0.0), KIND_WEIGHTS[term[0]])
    words = {t[2:] for t in own if t.startswith("w:")}
    for synonym in _synonyms_of(text, words):
        for term in terms(synonym):
            extra = KIND_WEIGHTS[term[0]] * SYNONYM_WEIGHT
            weights[term] = max(weights.get(term, 0.0), extra)
    return weights
