"""Search behaviour on a small hand-written catalogue (see conftest.CATALOGUE)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from shulian.search.documents import SearchDoc, SearchQuery, SearchResults, Sort
from shulian.search.errors import (
    InvalidFilterValue,
    InvalidPage,
    PageTooDeep,
    QueryTooLong,
    SearchIndexLocked,
    SearchIndexOutdated,
    TooManyFilters,
    UnknownFilter,
    UnknownSort,
)
from shulian.search.index import MAX_DEPTH, VERSION_FILE, SearchIndex

from .conftest import CATALOGUE, build_index


def ids(results: SearchResults) -> list[int]:
    return [hit.record_id for hit in results.hits]


def find(index: SearchIndex, text: str, **kw: object) -> SearchResults:
    return index.search(SearchQuery(text=text, **kw))  # type: ignore[arg-type]


class TestChineseSearch:
    def test_hanzi_title_is_found(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "狂人日记")) == [1]

    def test_traditional_query_finds_simplified_record(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "狂人日記")) == [1]

    def test_simplified_query_finds_traditional_record(self, catalogue: SearchIndex) -> None:
        results = find(catalogue, "红楼梦")
        assert ids(results) == [4]
        assert results.hits[0].title == "紅樓夢"  # shown as catalogued

    def test_subword_of_a_longer_word_matches(self, catalogue: SearchIndex) -> None:
        assert set(ids(find(catalogue, "图书馆"))) == {8, 25}

    def test_characters_inside_a_title_match(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "人日")) == [1]

    def test_author_finds_all_their_books(self, catalogue: SearchIndex) -> None:
        assert {1, 2, 3, 9} <= set(ids(find(catalogue, "鲁迅")))


class TestPinyinSearch:
    def test_full_pinyin_finds_the_hanzi_title(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "kuangrenriji")) == [1]

    def test_pinyin_initials_find_the_hanzi_title(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "krrj")) == [1]

    def test_spaced_syllables_find_the_hanzi_title(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "kuang ren ri ji")) == [1]

    @pytest.mark.parametrize("text", ["lu xun", "luxun"])
    def test_author_in_pinyin(self, catalogue: SearchIndex, text: str) -> None:
        assert {1, 2, 3, 9} <= set(ids(find(catalogue, text)))

    def test_romanised_title_matches_joined_pinyin(self, catalogue: SearchIndex) -> None:
        # LoC records without vernacular fields carry only the romanised title.
        doc = SearchDoc(record_id=99, title="Renmin ribao", language="chi")
        index = SearchIndex.in_memory()
        index.upsert([doc])
        index.commit()
        assert ids(find(index, "renminribao")) == [99]
        assert ids(find(index, "rmrb")) == [99]

    def test_typed_title_ranks_above_pinyin_reading(self, tmp_path: Path) -> None:
        index = build_index(
            tmp_path,
            [
                SearchDoc(record_id=1, title="Santi de yanjiu"),  # the typed word itself
                SearchDoc(record_id=2, title="三体"),  # matches through its pinyin only
            ],
        )
        assert ids(find(index, "santi")) == [1, 2]
        assert ids(find(index, "三体")) == [2]
        index.close()


class TestEnglishSearch:
    def test_plural_query_finds_singular_title(self, catalogue: SearchIndex) -> None:
        assert {12, 13, 19} <= set(ids(find(catalogue, "libraries")))

    def test_title_match_ranks_above_summary_match(self, catalogue: SearchIndex) -> None:
        found = ids(find(catalogue, "library"))
        # 20 mentions "library" only in its summary.
        assert found.index(12) < found.index(20)
        assert found.index(19) < found.index(20)

    def test_all_meaningful_words_are_required(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "harry potter chamber")) == [16]

    def test_stopwords_are_not_required(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "the history of time"))[0] == 17

    def test_any_word_is_enough_when_all_words_find_nothing(self, catalogue: SearchIndex) -> None:
        found = ids(find(catalogue, "catcher zeppelin"))
        assert found == [28]

    def test_phrase_in_title_ranks_first(self, catalogue: SearchIndex) -> None:
        # 27 has "old man" and "sea" too, but not as its title.
        assert ids(find(catalogue, "old man sea"))[0] == 14


class TestIdentifiers:
    def test_isbn13_finds_the_record(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "978-0-316-76948-8")) == [28]

    def test_isbn10_query_finds_record_indexed_by_isbn13(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "0316769487")) == [28]

    def test_call_number_finds_the_record(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "I246.7/12")) == [1]

    def test_clc_number_finds_the_class(self, catalogue: SearchIndex) -> None:
        assert set(ids(find(catalogue, "I246.7"))) == {1, 2, 3}


class TestQuerySafety:
    @pytest.mark.parametrize("text", ["title:(", "*", 'AND OR "', "a:b:c [1 TO 5]", "\\", "+-"])
    def test_garbage_query_syntax_is_searched_literally(
        self, catalogue: SearchIndex, text: str
    ) -> None:
        results = find(catalogue, text)
        assert results.total >= 0

    def test_query_syntax_is_not_interpreted(self, catalogue: SearchIndex) -> None:
        # In Tantivy's language this would search the title field for "sea"; here it is
        # just the words "title" and "sea".
        assert ids(find(catalogue, "title:(sea")) == ids(find(catalogue, "title sea"))

    def test_query_of_10000_chars_is_refused_with_the_limit(self, catalogue: SearchIndex) -> None:
        with pytest.raises(QueryTooLong) as err:
            find(catalogue, "鲁" * 10_000)
        assert "200" in err.value.detail
        assert err.value.status_code == 400

    def test_text_without_searchable_words_finds_nothing(self, catalogue: SearchIndex) -> None:
        assert find(catalogue, "*").total == 0
        assert find(catalogue, "  " + "x" * 200 + "  ").total == 0  # at the limit: searched

    def test_blank_text_browses_everything(self, catalogue: SearchIndex) -> None:
        assert find(catalogue, "   ").total == len(CATALOGUE)

    def test_deep_page_is_refused(self, catalogue: SearchIndex) -> None:
        with pytest.raises(PageTooDeep) as err:
            find(catalogue, "", page=MAX_DEPTH // 20 + 1, per_page=20)
        assert str(MAX_DEPTH) in err.value.detail

    def test_last_allowed_page_is_served(self, catalogue: SearchIndex) -> None:
        assert find(catalogue, "", page=MAX_DEPTH // 20, per_page=20).hits == []

    @pytest.mark.parametrize(("page", "per_page"), [(0, 20), (1, 0), (1, 101)])
    def test_invalid_page_is_refused(
        self, catalogue: SearchIndex, page: int, per_page: int
    ) -> None:
        with pytest.raises(InvalidPage):
            find(catalogue, "", page=page, per_page=per_page)

    def test_too_many_filter_values_are_refused(self, catalogue: SearchIndex) -> None:
        with pytest.raises(TooManyFilters):
            find(catalogue, "", filters={"branch": [f"B{i:02}" for i in range(21)]})

    def test_unknown_filter_is_refused(self, catalogue: SearchIndex) -> None:
        with pytest.raises(UnknownFilter):
            find(catalogue, "", filters={"colour": ["red"]})

    def test_unknown_year_bucket_is_refused(self, catalogue: SearchIndex) -> None:
        with pytest.raises(InvalidFilterValue):
            find(catalogue, "", filters={"year": ["1066"]})

    def test_unknown_sort_is_refused(self, catalogue: SearchIndex) -> None:
        with pytest.raises(UnknownSort):
            find(catalogue, "", sort="price")


class TestFiltersAndFacets:
    def test_filter_by_branch(self, catalogue: SearchIndex) -> None:
        results = find(catalogue, "鲁迅", filters={"branch": ["B02"]})
        assert ids(results) == [9]

    def test_values_of_one_facet_are_alternatives(self, catalogue: SearchIndex) -> None:
        results = find(catalogue, "", filters={"format": ["video", "periodical"]}, per_page=50)
        assert set(ids(results)) == {11, 24}

    def test_filter_by_year_bucket(self, catalogue: SearchIndex) -> None:
        results = find(catalogue, "鲁迅", filters={"year": ["-1949"]})
        assert set(ids(results)) == {1, 2, 3, 9}

    def test_available_anywhere(self, catalogue: SearchIndex) -> None:
        results = find(catalogue, "鲁迅", filters={"available": ["any"]})
        assert set(ids(results)) == {1, 3, 9}

    def test_available_at_a_branch(self, catalogue: SearchIndex) -> None:
        results = find(catalogue, "三体", filters={"available": ["B01"]})
        assert ids(results) == [5]

    def test_facet_counts_follow_filters(self, catalogue: SearchIndex) -> None:
        unfiltered = find(catalogue, "鲁迅")
        assert dict(unfiltered.facets["branch"]) == {"CEN": 3, "B01": 2, "B02": 1}
        assert dict(unfiltered.facets["year"]) == {"-1949": 4, "1980-1999": 1}
        filtered = find(catalogue, "鲁迅", filters={"year": ["-1949"], "branch": ["CEN"]})
        assert filtered.total == 2
        # Other facets count the filtered results...
        assert dict(filtered.facets["available"]) == {"any": 1, "CEN": 1}
        # ...a filtered facet counts as if its own filter were off (drill sideways).
        assert dict(filtered.facets["branch"]) == {"CEN": 2, "B01": 2, "B02": 1}
        assert dict(filtered.facets["year"]) == {"-1949": 2, "1980-1999": 1}

    def test_facets_are_sorted_by_count(self, catalogue: SearchIndex) -> None:
        counts = [n for _, n in find(catalogue, "").facets["clc"]]
        assert counts == sorted(counts, reverse=True)
        assert sum(counts) == len(CATALOGUE)

    def test_facets_can_be_skipped(self, catalogue: SearchIndex) -> None:
        assert find(catalogue, "鲁迅", with_facets=False).facets == {}


class TestSortAndPages:
    def test_newest_first(self, catalogue: SearchIndex) -> None:
        found = ids(find(catalogue, "鲁迅", sort=Sort.NEWEST))
        assert found == sorted(found, reverse=True)  # added_at grows with record_id

    def test_most_borrowed_first(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "三体", sort="most_borrowed")) == [5, 6, 7]

    def test_by_year(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "鲁迅", sort="year_asc"))[:4] == [1, 2, 3, 9]

    def test_browsing_without_text_favours_popular_records(self, catalogue: SearchIndex) -> None:
        assert ids(find(catalogue, "", per_page=1)) == [15]  # 1,200 loans

    def test_pages_partition_the_results(self, catalogue: SearchIndex) -> None:
        first = find(catalogue, "", per_page=10, page=1)
        second = find(catalogue, "", per_page=10, page=2)
        assert first.total == second.total == len(CATALOGUE)
        assert not set(ids(first)) & set(ids(second))
        assert len(ids(second)) == 10


class TestSuggestions:
    def test_suggestions_by_hanzi_prefix(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("三体") == ["三体", "三体II：黑暗森林"]

    def test_suggestions_by_traditional_prefix(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("紅樓") == ["紅樓夢"]

    def test_suggestions_by_pinyin_prefix(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("kuangren") == ["狂人日记"]
        assert catalogue.suggest("hong lou") == ["紅樓夢"]

    def test_suggestions_by_pinyin_initials(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("krr") == ["狂人日记"]

    def test_suggestions_by_latin_words_most_borrowed_first(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("harry p") == [
            "Harry Potter and the Philosopher's Stone",
            "Harry Potter and the Chamber of Secrets",
        ]

    def test_suggestions_skip_a_leading_article(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("old man") == ["The Old Man and the Sea"]

    def test_same_title_is_suggested_once(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("santi") == ["三体", "三体II：黑暗森林"]

    def test_limit_is_respected(self, catalogue: SearchIndex) -> None:
        assert len(catalogue.suggest("t", limit=2)) == 2

    def test_long_prefix_is_checked_beyond_the_ngrams(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("harry potter and the cha") == [
            "Harry Potter and the Chamber of Secrets"
        ]

    def test_empty_or_punctuation_prefix_suggests_nothing(self, catalogue: SearchIndex) -> None:
        assert catalogue.suggest("  ") == []
        assert catalogue.suggest("*(") == []


class TestAlternatives:
    def test_no_results_for_pinyin_offers_hanzi_titles(self, catalogue: SearchIndex) -> None:
        results = find(catalogue, "kuangrenri")
        assert results.total == 0
        assert results.alternatives == ["狂人日记"]

    def test_no_results_offers_homophone_title(self, catalogue: SearchIndex) -> None:
        # 狂人日计: a wrong character typed through the same pinyin.
        results = find(catalogue, "况仁日计")
        assert results.total == 0
        assert results.alternatives == ["狂人日记"]

    def test_found_results_offer_no_alternatives(self, catalogue: SearchIndex) -> None:
        assert find(catalogue, "kuangrenriji").alternatives == []


class TestWriting:
    def test_upsert_replaces_by_record_id(self, tmp_path: Path) -> None:
        index = build_index(tmp_path)
        index.upsert([SearchDoc(record_id=1, title="Diary of a Madman")])
        index.commit()
        assert index.count() == len(CATALOGUE)
        assert ids(find(index, "狂人日记")) == []
        assert ids(find(index, "madman")) == [1]
        index.close()

    def test_changes_are_invisible_until_commit(self, tmp_path: Path) -> None:
        index = build_index(tmp_path)
        index.delete([1, 2])
        assert index.count() == len(CATALOGUE)
        index.commit()
        assert index.count() == len(CATALOGUE) - 2
        index.close()

    def test_clear_empties_the_index(self, tmp_path: Path) -> None:
        index = build_index(tmp_path)
        index.clear()
        index.commit()
        assert index.count() == 0
        index.close()

    def test_reopened_index_keeps_its_records(self, tmp_path: Path) -> None:
        build_index(tmp_path).close()
        index = SearchIndex.open(tmp_path)
        assert ids(find(index, "krrj")) == [1]
        index.close()

    def test_index_of_another_schema_version_is_refused(self, tmp_path: Path) -> None:
        build_index(tmp_path).close()
        (tmp_path / VERSION_FILE).write_text(json.dumps({"schema_version": 0}))
        with pytest.raises(SearchIndexOutdated) as err:
            SearchIndex.open(tmp_path)
        assert "shulian search reindex" in err.value.detail

    def test_index_of_another_schema_version_can_be_rebuilt(self, tmp_path: Path) -> None:
        build_index(tmp_path).close()
        (tmp_path / VERSION_FILE).write_text(json.dumps({"schema_version": 0}))
        index = SearchIndex.open(tmp_path, rebuild=True)
        assert index.rebuilt
        assert index.count() == 0
        index.close()

    def test_concurrent_searches_agree(self, catalogue: SearchIndex) -> None:
        expected = ids(find(catalogue, "鲁迅"))
        errors: list[BaseException] = []
        results: list[list[int]] = []

        def work() -> None:
            try:
                for _ in range(25):
                    results.append(ids(find(catalogue, "鲁迅")))
                    catalogue.suggest("krr")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert results == [expected] * 100

    def test_browse_facets_follow_a_commit(self, tmp_path: Path) -> None:
        index = build_index(tmp_path)
        before = dict(index.search(SearchQuery()).facets["format"])
        index.upsert([SearchDoc(record_id=500, title="Maps", format="video")])
        index.commit()
        after = dict(index.search(SearchQuery()).facets["format"])
        assert after["video"] == before["video"] + 1
        index.close()

    def test_second_writer_on_the_same_index_is_refused(self, tmp_path: Path) -> None:
        first = build_index(tmp_path)  # keeps its writer open
        second = SearchIndex.open(tmp_path)
        with pytest.raises(SearchIndexLocked):
            second.upsert([SearchDoc(record_id=600, title="Second")])
        first.close()
        second.upsert([SearchDoc(record_id=600, title="Second")])
        second.commit()
        assert second.count() == len(CATALOGUE) + 1
        second.close()
