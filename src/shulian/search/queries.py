"""From a reader's text to a Tantivy query, without Tantivy's query language.

Rules:

- The text is split on whitespace into chunks, and each chunk into terms with the same analysis
  as indexing (``analysis``). Nothing is syntax: ``title:(``, ``*`` or quotes are just text.
- Every meaningful term must match somewhere (AND of per-term disjunctions across fields);
  English stopwords and a few Chinese function characters are optional. When the AND finds
  nothing the caller retries with ``any_term=True`` (OR).
- A term matches in any field, the best field counting (dis-max): title 5, other titles 3,
  authors 3, subjects 2, series/publisher 1, summary 0.7, whole-text pinyin 2, pinyin words
  and syllables 1.5; a hanzi word also matches as adjacent characters of a title or author
  (weight 1.5), so the substring 人日 finds 狂人日记. A chunk that looks like an identifier (ISBN,
  call number) may instead match the identifier field (weight 10).
- Bonuses (optional clauses): the Latin words as a phrase in the title (slop 2), and all Latin
  words joined as one whole-text pinyin token (``lu xun`` -> ``luxun``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tantivy

from shulian.search import analysis

Q = tantivy.Query
Occur = tantivy.Occur

TEXT_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("title", 5.0),
    ("other_titles", 3.0),
    ("authors", 3.0),
    ("subjects", 2.0),
    ("series_pub", 1.0),
    ("summary", 0.7),
)
PINYIN_WEIGHTS: tuple[tuple[str, float], ...] = (("py_whole", 2.0), ("py", 1.5))
CHARS_WEIGHT = 1.5
ID_WEIGHT = 10.0
TITLE_PHRASE_WEIGHT = 3.0
PINYIN_JOINED_WEIGHT = 4.0
DISMAX_TIE = 0.1

CJK_STOPWORDS = frozenset(["的", "之", "与", "和", "及", "了", "在", "是"])


@dataclass(slots=True)
class Term:
    token: str  # what the text fields hold: a stemmed word or a hanzi word
    raw: str  # unstemmed lowercase word, for the pinyin fields ("" for hanzi)
    chars: list[str]  # the characters of a hanzi word, for the title_chars field
    required: bool


@dataclass(slots=True)
class Chunk:
    identifier: str | None  # keyword to try in the ids field, when the chunk looks like one
    terms: list[Term]


@dataclass(slots=True)
class QueryPlan:
    chunks: list[Chunk] = field(default_factory=list)
    latin_tokens: list[str] = field(default_factory=list)  # for the title phrase bonus
    latin_words: list[str] = field(default_factory=list)  # raw words, for the pinyin join bonus

    @property
    def empty(self) -> bool:
        return not any(c.terms or c.identifier for c in self.chunks)

    @property
    def clause_count(self) -> int:
        """How many clauses the AND has: the OR fallback is worth trying above one."""
        return sum(1 if c.identifier is not None else len(c.terms) for c in self.chunks)

    @property
    def hanzi(self) -> str:
        """The CJK characters of the query, in order (normalised)."""
        return "".join(ch for c in self.chunks for t in c.terms for ch in t.chars)


def _raw_analyzer() -> Any:
    # Same split as analysis' Latin analyzer, without the stemmer: keeps stems and raw aligned.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def plan(text: str) -> QueryPlan:
    """Analyse a (length-checked) query text into chunks and terms."""
    result = QueryPlan()
    raw_analyzer = _raw_analyzer()
    for chunk_text in text.split():
        norm = analysis.normalize(chunk_text)
        terms: list[Term] = []
        pos = 0

        def latin(part: str, terms: list[Term] = terms) -> None:
            stems = analysis.text_tokens(part, normalized=True)
            raws = list(raw_analyzer.analyze(part))
            if len(raws) != len(stems):  # never expected; fall back to stems for both
                raws = stems
            for stem, raw in zip(stems, raws, strict=True):
                terms.append(Term(stem, raw, [], raw not in analysis.STOPWORDS))
                result.latin_tokens.append(stem)
                result.latin_words.append(raw)

        for match in analysis.CJK_RUN.finditer(norm):
            if match.start() > pos:
                latin(norm[pos : match.start()])
            for word in analysis.cjk_words(match.group()):
                terms.append(Term(word, "", list(word), word not in CJK_STOPWORDS))
            pos = match.end()
        if pos < len(norm):
            latin(norm[pos:])
        identifier = (
            analysis.identifier_query_token(chunk_text)
            if analysis.looks_like_identifier(chunk_text)
            else None
        )
        if terms or identifier:
            result.chunks.append(Chunk(identifier, terms))
    return result


def _words(tokens: list[str]) -> list[str | tuple[int, str]]:
    return list(tokens)


def _term_clause(schema: Any, term: Term) -> Any:
    alternatives = [
        Q.boost_query(Q.term_query(schema, name, term.token), weight)
        for name, weight in TEXT_WEIGHTS
    ]
    if term.raw:
        alternatives += [
            Q.boost_query(Q.term_query(schema, name, term.raw), weight)
            for name, weight in PINYIN_WEIGHTS
        ]
    if len(term.chars) > 1:
        alternatives.append(
            Q.boost_query(Q.phrase_query(schema, "title_chars", _words(term.chars)), CHARS_WEIGHT)
        )
    elif term.chars:
        alternatives.append(
            Q.boost_query(Q.term_query(schema, "title_chars", term.chars[0]), CHARS_WEIGHT)
        )
    return Q.disjunction_max_query(alternatives, tie_breaker=DISMAX_TIE)


def _chunk_clauses(schema: Any, chunk: Chunk) -> list[tuple[Any, bool]]:
    """(clause, required) pairs for one chunk."""
    term_clauses = [(_term_clause(schema, t), t.required) for t in chunk.terms]
    if chunk.identifier is None:
        return term_clauses
    id_clause = Q.boost_query(Q.term_query(schema, "ids", chunk.identifier), ID_WEIGHT)
    if not term_clauses:
        return [(id_clause, True)]
    # An identifier-like chunk matches as a whole identifier, or as all of its words.
    words = Q.boolean_query([(Occur.Must, c) for c, _ in term_clauses])
    return [(Q.boolean_query([(Occur.Should, id_clause), (Occur.Should, words)]), True)]


def build(schema: Any, query_plan: QueryPlan, *, any_term: bool = False) -> Any:
    """The scoring query for a plan: AND of required terms (OR with ``any_term``) plus bonuses."""
    clauses = [c for chunk in query_plan.chunks for c in _chunk_clauses(schema, chunk)]
    if not clauses:
        return Q.empty_query()
    if not any(required for _, required in clauses):
        clauses = [(c, True) for c, _ in clauses]  # a query of stopwords only: all count
    if any_term:
        core = Q.boolean_query([(Occur.Should, c) for c, _ in clauses])
    else:
        core = Q.boolean_query(
            [(Occur.Must if required else Occur.Should, c) for c, required in clauses]
        )
    bonuses: list[Any] = []
    if len(query_plan.latin_tokens) > 1:
        phrase = Q.phrase_query(schema, "title", _words(query_plan.latin_tokens), slop=2)
        bonuses.append(Q.boost_query(phrase, TITLE_PHRASE_WEIGHT))
    if len(query_plan.latin_words) > 1:
        joined = "".join(query_plan.latin_words)[: analysis.MAX_TOKEN_CHARS]
        bonuses.append(
            Q.boost_query(Q.term_query(schema, "py_whole", joined), PINYIN_JOINED_WEIGHT)
        )
    if not bonuses:
        return core
    return Q.boolean_query([(Occur.Must, core)] + [(Occur.Should, b) for b in bonuses])
