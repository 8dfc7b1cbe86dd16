"""Analysis rules: the same tokens at index and query time, Chinese and English alike."""

from __future__ import annotations

import threading

from shulian.search import analysis


class TestNormalize:
    def test_traditional_becomes_simplified(self) -> None:
        assert analysis.normalize("狂人日記") == analysis.normalize("狂人日记") == "狂人日记"

    def test_fullwidth_letters_are_folded_and_lowercased(self) -> None:
        assert analysis.normalize("ＰＹＴＨＯＮ") == "python"


class TestTextTokens:
    def test_cjk_words_include_their_dictionary_subwords(self) -> None:
        tokens = analysis.text_tokens("国家图书馆")
        assert {"图书", "书馆", "图书馆", "国家图书馆"} <= set(tokens)

    def test_english_plural_and_singular_share_a_stem(self) -> None:
        assert analysis.text_tokens("Libraries") == analysis.text_tokens("library")

    def test_mixed_text_keeps_both_scripts(self) -> None:
        tokens = analysis.text_tokens("三体 Trilogy")
        assert "三体" in tokens
        assert "trilog" in tokens

    def test_over_long_words_are_dropped(self) -> None:
        assert analysis.text_tokens("x" * 500) == []

    def test_segmentation_is_safe_from_many_threads(self) -> None:
        expected = analysis.text_tokens("中国现代文学史上第一篇白话小说")
        seen: list[list[str]] = []

        def work() -> None:
            for _ in range(20):
                seen.append(analysis.text_tokens("中国现代文学史上第一篇白话小说"))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(seen) == 80
        assert all(tokens == expected for tokens in seen)


class TestPinyin:
    def test_forms_of_a_title(self) -> None:
        forms = analysis.pinyin_forms("狂人日记")
        assert forms is not None
        assert forms.syllables == ["kuang", "ren", "ri", "ji"]
        assert forms.whole == "kuangrenriji"
        assert forms.initials == "krrj"
        assert "riji" in forms.words

    def test_polyphones_follow_the_phrase_dictionary(self) -> None:
        forms = analysis.pinyin_forms("重庆银行")
        assert forms is not None
        assert forms.whole == "chongqingyinhang"

    def test_text_without_hanzi_has_no_pinyin(self) -> None:
        assert analysis.pinyin_forms("The Old Man") is None

    def test_romanised_title_is_recognised(self) -> None:
        forms = analysis.romanised_pinyin("Kuang ren ri ji")
        assert forms is not None
        assert (forms.whole, forms.initials) == ("kuangrenriji", "krrj")

    def test_romanised_name_ignores_dates_and_punctuation(self) -> None:
        forms = analysis.romanised_pinyin("Lu, Xun, 1881-1936.")
        assert forms is not None
        assert forms.whole == "luxun"

    def test_english_is_not_taken_for_pinyin(self) -> None:
        assert analysis.romanised_pinyin("The Old Man and the Sea") is None


class TestIdentifiers:
    def test_isbn10_and_isbn13_give_the_same_key(self) -> None:
        assert analysis.isbn13("0-316-76948-7") == "9780316769488"
        assert analysis.isbn13("978-0-316-76948-8") == "9780316769488"

    def test_isbn_with_a_wrong_check_digit_is_not_an_isbn(self) -> None:
        assert analysis.isbn13("0-316-76948-6") is None

    def test_isbn_is_indexed_in_both_forms(self) -> None:
        assert analysis.isbn_tokens("9787020002207") == ["9787020002207", "702000220x"]

    def test_call_number_keeps_whole_and_class_part(self) -> None:
        assert analysis.identifier_tokens("I246.5/12") == ["i246.5/12", "i246.5"]


class TestSuggestionKeys:
    def test_keys_cover_characters_pinyin_and_initials(self) -> None:
        keys = analysis.suggestion_keys("狂人日記")
        assert keys == ["狂人日记", "kuangrenriji", "krrj"]

    def test_leading_article_is_optional(self) -> None:
        keys = analysis.suggestion_keys("The Old Man and the Sea")
        assert "old_man_and_the_sea" in keys
