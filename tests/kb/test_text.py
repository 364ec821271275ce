"""The knowledge base's terms: Chinese bigrams, folded English words, typos and synonyms."""

from __future__ import annotations

from aftersales.kb.text import KIND_WEIGHTS, query_terms, stem, terms


def test_a_two_character_chinese_query_is_one_bigram_term() -> None:
    # A trigram index cannot match 退款 at all; a bigram is exactly the word.
    assert "b:退款" in terms("退款")
    assert "b:发票" in terms("要开发票")


def test_full_width_and_case_fold_to_the_same_terms() -> None:
    assert terms("ＲＥＦＵＮＤ") == terms("refund")


def test_inflections_meet_on_one_stem() -> None:
    assert {stem(w) for w in ("refund", "refunds", "refunded", "refunding")} == {"refund"}
    assert stem("arrived") == stem("arrive") == stem("arriving")


def test_a_typo_still_shares_character_trigrams_with_the_word() -> None:
    typo = {t for t in terms("recieved") if t.startswith("g:")}
    right = {t for t in terms("received") if t.startswith("g:")}
    assert len(typo & right) >= 2


def test_function_words_and_lone_particles_are_not_terms() -> None:
    assert terms("is it the") == []
    assert "c:的" not in terms("我的快递")
    assert "c:快" in terms("我的快递")


def test_synonyms_join_below_the_buyers_own_words() -> None:
    weights = query_terms("退钱")
    assert weights["b:退钱"] == KIND_WEIGHTS["b"]
    assert 0 < weights["b:退款"] < weights["b:退钱"]
    assert "w:packag" in query_terms("parcel")


def test_an_empty_or_symbol_only_query_has_no_terms() -> None:
    assert query_terms("") == {}
    assert query_terms("？？！！ ...") == {}
