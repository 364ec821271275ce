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


# ------------------------------------------------------- buyers' wording, folded

def test_traditional_characters_fold_to_simplified() -> None:
    assert terms("請問退貨要寄到哪個地址") == terms("请问退货要寄到哪个地址")
    assert terms("退款多久會到帳") == terms("退款多久会到账")
    assert "b:发票" in terms("發票")


def test_chat_filler_is_cut_out_before_pairs_are_taken() -> None:
    assert terms("请问退货") == terms("退货")
    assert terms("亲，你好，在吗？麻烦发票开一下，谢谢") == terms("发票开一下")
    assert "b:问退" not in terms("请问退货")
    assert terms("hi dear seller, thanks") == []


def test_chat_spellings_and_british_spellings_fold_to_one_word() -> None:
    assert terms("pls where is my pkg") == terms("please where is my package")
    assert terms("wrong colour") == terms("wrong color")
    assert terms("rcvd") == terms("received")
    assert terms("u sent") == terms("sent")


def test_able_is_stemmed_like_other_suffixes() -> None:
    assert stem("refundable") == stem("refund")
    assert stem("returnable") == stem("return")
    assert stem("table") == "tabl"  # too short to lose -able


def test_buyers_words_for_not_arrived_quality_manuals_and_couriers_meet() -> None:
    own = query_terms("还没来")
    assert 0 < own["b:收到"] < own["b:没来"]
    assert "b:质量" in query_terms("裤子起球了")
    assert "b:邮政" in query_terms("能发顺丰吗")
    assert "w:courier" in query_terms("can i use dhl")
    assert "w:manual" in query_terms("instructions unclear")
    assert "w:counterfeit" in query_terms("its a knockoff")
    assert "w:quality" in query_terms("it is defective")


def test_buyers_words_for_pickup_defects_safety_silence_and_opting_out_meet() -> None:
    assert "b:发货" in query_terms("还没揽收")
    assert "b:质量" in query_terms("鞋子开胶了")
    assert "b:冒烟" in query_terms("插上就跳闸")
    assert "b:不理" in query_terms("客服不回消息")
    assert "w:support" in query_terms("your customer service")
    assert "w:delet" in query_terms("erase my data")
    assert "w:unsubscrib" in query_terms("stop contacting me")
    assert "w:cheaper" in query_terms("the price dropped")


def test_a_consonant_doubled_before_a_suffix_is_undoubled() -> None:
    assert stem("shipped") == stem("shipping") == stem("ship")
    assert stem("dropped") == stem("drop")
    assert stem("added") == "add"  # too short to lose a letter
    assert stem("called") == "call"  # a doubled l stays
