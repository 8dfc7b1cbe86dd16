"""Text analysis shared by indexing and querying, so both sides always produce the same tokens.

Rules:

- Normalisation: NFKC, lowercase, and Traditional -> Simplified (OpenCC ``t2s``) when the text
  holds CJK characters, so 狂人日記 and 狂人日记 are the same tokens.
- CJK runs are segmented with jieba the way ``cut_for_search`` does (the coarse word plus its
  dictionary sub-words: 图书馆 -> 图书, 书馆, 图书馆). Everything else is split into words by
  Tantivy's own analyzer (Unicode word split, lowercase, ASCII folding, Snowball English stemmer,
  words over 40 bytes dropped): it runs in Rust, which keeps mostly-English records cheap.
- Pinyin (pypinyin, no tones, its phrase dictionary choosing polyphone readings) is computed for
  CJK text only: each word's syllables joined (``kuangren``), each syllable, the whole text
  without spaces (``kuangrenriji``) and its initials (``krrj``).
- Romanised pinyin written as Latin words ("Kuang ren ri ji", "Lu Xun") is recognised when every
  word splits into pinyin syllables; it yields the same whole-text and initials forms.
- Identifiers: ISBN-10 and ISBN-13 are indexed in both forms; call numbers and CLC numbers are
  kept whole, lowercased, without inner spaces.
"""

from __future__ import annotations

import functools
import logging
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jieba
import opencc
import tantivy
from pypinyin import lazy_pinyin

# CJK Unified Ideographs, Extension A, Compatibility Ideographs and the supplementary planes.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
CJK_RUN = re.compile(f"[{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_LATIN_WORD = re.compile(r"[a-z]+")
_WORD = re.compile(r"\w+")
_ISBN_CHARS = re.compile(r"[\s\-]")

#: Tokens longer than this are dropped: nobody types them and Tantivy limits term length.
MAX_TOKEN_CHARS = 64

#: English words that never make a query term required (they still count for ranking).
_STOPWORD_TEXT = "a an and are as at be by for from in into is it of on or the to with"
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Every toneless pinyin syllable (from pypinyin's dictionary, ü written v), used to tell
# romanised Chinese ("Kuang ren ri ji") from other Latin text.
_SYLLABLE_TEXT = """
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong bu
    ca cai can cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong chou chu
    chua chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de
    dei den deng di dia dian diao die din ding diu dong dou du duan dui dun duo e ei en eng er fa
    fan fang fei fen feng fiao fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai
    guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui
    hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke
    kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei len leng
    li lia lian liang liao lie lin ling liu lo long lou lu luan lue lun luo lv lve ma mai man mang
    mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen
    neng ni nia nian niang niao nie nin ning niu nong nou nu nuan nue nun nuo nv nve o ou pa pai
    pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin
    qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa
    sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi shou shu shua
    shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te tei
    teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wong
    wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin
    ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao
    zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu
    zuan zui zun zuo"""
PINYIN_SYLLABLES = frozenset(_SYLLABLE_TEXT.split())
_MAX_SYLLABLE = max(map(len, PINYIN_SYLLABLES))

_local = threading.local()
_jieba_lock = threading.Lock()
_jieba_ready = False


def _latin_analyzer() -> Any:
    # One analyzer per thread: the binding gives no guarantee an analyzer may be shared.
    analyzer = getattr(_local, "analyzer", None)
    if analyzer is None:
        analyzer = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer("english"))
            .build()
        )
        _local.analyzer = analyzer
    return analyzer


def _converter(config: str) -> Any:
    key = f"opencc_{config}"
    converter = getattr(_local, key, None)
    if converter is None:
        converter = opencc.OpenCC(config)
        setattr(_local, key, converter)
    return converter


def _jieba() -> Any:
    """The initialised jieba tokenizer: loaded once per process, quietly, cache in a temp dir."""
    global _jieba_ready
    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                cache_dir = Path(tempfile.gettempdir()) / "shulian-jieba"
                cache_dir.mkdir(parents=True, exist_ok=True)
                jieba.dt.tmp_dir = str(cache_dir)
                jieba.dt.initialize()
                _jieba_ready = True
    return jieba.dt


def warm_up() -> None:
    """Load jieba's dictionary, pypinyin's and OpenCC's now (about a second of CPU) rather than
    inside the first search or the first index update, where it stalls every other request."""
    text_tokens("书链图书馆 Library")
    pinyin_forms("狂人日记")
    to_simplified("圖書館")


def has_cjk(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def normalize(text: str) -> str:
    """NFKC, lowercase, and Traditional -> Simplified when the text holds CJK characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    if has_cjk(text):
        text = _converter("t2s").convert(text)
    return text


def to_traditional(text: str) -> str:
    return str(_converter("s2t").convert(text))


def to_simplified(text: str) -> str:
    return str(_converter("t2s").convert(text))


@functools.lru_cache(maxsize=65536)
def cjk_words(run: str) -> tuple[str, ...]:
    """jieba's coarse words for one normalised CJK run (HMM on, to find names like 刘慈欣)."""
    return tuple(_jieba().cut(run, HMM=True))


@functools.lru_cache(maxsize=65536)
def subword_spans(word: str) -> tuple[tuple[int, int], ...]:
    """Spans of the dictionary 2- and 3-character words inside ``word``, as ``cut_for_search``
    finds them (only for words longer than the sub-word)."""
    if len(word) <= 2:
        return ()
    freq = _jieba().FREQ
    spans = [(i, i + 2) for i in range(len(word) - 1) if freq.get(word[i : i + 2])]
    if len(word) > 3:
        spans += [(i, i + 3) for i in range(len(word) - 2) if freq.get(word[i : i + 3])]
    return tuple(spans)


def search_subwords(word: str) -> tuple[str, ...]:
    return tuple(word[i:j] for i, j in subword_spans(word))


def _latin_tokens(text: str) -> list[str]:
    return list(_latin_analyzer().analyze(text))


def _cjk_tokens(run: str) -> Iterator[str]:
    for word in cjk_words(run):
        yield from search_subwords(word)
        yield word


def text_tokens(text: str, *, normalized: bool = False) -> list[str]:
    """Index/query tokens of free text: jieba words for CJK runs, stemmed words elsewhere."""
    norm = text if normalized else normalize(text)
    if not has_cjk(norm):
        return _latin_tokens(norm)
    out: list[str] = []
    pos = 0
    for match in CJK_RUN.finditer(norm):
        if match.start() > pos:
            out += _latin_tokens(norm[pos : match.start()])
        out.extend(_cjk_tokens(match.group()))
        pos = match.end()
    if pos < len(norm):
        out += _latin_tokens(norm[pos:])
    return [t for t in out if len(t) <= MAX_TOKEN_CHARS]


def cjk_chars(text: str, *, normalized: bool = False) -> list[str]:
    """Each CJK character of the text in order: a substring match for titles and names."""
    norm = text if normalized else normalize(text)
    return _CJK_CHAR.findall(norm)


@functools.lru_cache(maxsize=65536)
def word_pinyin(word: str) -> tuple[str, ...]:
    """Toneless syllables of one CJK word, one per character (pypinyin's phrase readings)."""
    syllables = lazy_pinyin(word, v_to_u=False)
    if len(syllables) != len(word):
        # A character without a reading comes back merged with its neighbours: go one by one.
        syllables = [(lazy_pinyin(ch) or [ch])[0] for ch in word]
    return tuple(s if s.isascii() else "" for s in syllables)


@dataclass(slots=True)
class PinyinForms:
    """Pinyin of one text: per-word, per-syllable, the whole text, and its initials."""

    words: list[str] = field(default_factory=list)
    syllables: list[str] = field(default_factory=list)
    whole: str = ""
    initials: str = ""


def pinyin_forms(text: str, *, normalized: bool = False) -> PinyinForms | None:
    """Pinyin forms of a text holding CJK characters; None when it has none.

    Latin words and digits inside the text are carried into ``whole`` (and their first
    character into ``initials``) so that 三体2 gives ``santi2`` / ``st2``.
    """
    norm = text if normalized else normalize(text)
    if not has_cjk(norm):
        return None
    forms = PinyinForms()
    whole: list[str] = []
    initials: list[str] = []
    pos = 0

    def latin(chunk: str) -> None:
        for word in _WORD.findall(chunk):
            whole.append(word)
            initials.append(word[0])

    for match in CJK_RUN.finditer(norm):
        latin(norm[pos : match.start()])
        for word in cjk_words(match.group()):
            syllables = [s for s in word_pinyin(word) if s]
            if not syllables:
                continue
            forms.syllables += syllables
            if len(syllables) == len(word):
                # Sub-words read as they do inside the word (polyphones stay consistent).
                forms.words += ["".join(syllables[i:j]) for i, j in subword_spans(word)]
            if len(syllables) > 1:
                forms.words.append("".join(syllables))
            whole += syllables
            initials += [s[0] for s in syllables]
        pos = match.end()
    latin(norm[pos:])
    forms.whole = "".join(whole)[:MAX_TOKEN_CHARS]
    forms.initials = "".join(initials)[:MAX_TOKEN_CHARS]
    return forms


@functools.lru_cache(maxsize=65536)
def split_pinyin(word: str) -> tuple[str, ...] | None:
    """Split a Latin word into pinyin syllables (fewest syllables), or None if it is not pinyin."""
    n = len(word)
    if n == 0 or n > MAX_TOKEN_CHARS:
        return None
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        prefix = best[i]
        if prefix is None:
            continue
        for j in range(i + 1, min(n, i + _MAX_SYLLABLE) + 1):
            if word[i:j] in PINYIN_SYLLABLES:
                candidate = (*prefix, word[i:j])
                current = best[j]
                if current is None or len(candidate) < len(current):
                    best[j] = candidate
    return best[n]


def latin_words(text: str) -> list[str]:
    """Lowercase unaccented Latin words (ü -> v, as pinyin input methods type it)."""
    text = text.lower()
    if not text.isascii():  # most records are plain ASCII: skip the Unicode work for them
        text = unicodedata.normalize("NFKC", text).replace("ü", "v")
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _LATIN_WORD.findall(text)


def romanised_pinyin(text: str) -> PinyinForms | None:
    """Pinyin forms of romanised Chinese ("Kuang ren ri ji"), or None when it is not pinyin.

    Every Latin word must split into pinyin syllables and there must be at least two syllables.
    Digits and punctuation are ignored ("Lu, Xun, 1881-1936" -> ``luxun``).
    """
    words = latin_words(text)
    if not words:
        return None
    syllables: list[str] = []
    for word in words:
        split = split_pinyin(word)
        if split is None:
            return None
        syllables += split
    if len(syllables) < 2:
        return None
    return PinyinForms(
        words=[w for w in words if len(w) <= MAX_TOKEN_CHARS],
        syllables=syllables,
        whole="".join(words)[:MAX_TOKEN_CHARS],
        initials="".join(s[0] for s in syllables)[:MAX_TOKEN_CHARS],
    )


# --- identifiers --------------------------------------------------------------------------


def _isbn10_check(digits9: str) -> str:
    total = sum((10 - i) * int(d) for i, d in enumerate(digits9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _isbn13_check(digits12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits12))
    return str((10 - total % 10) % 10)


def isbn13(text: str) -> str | None:
    """The ISBN-13 digits of a valid ISBN-10 or ISBN-13 (hyphens and spaces ignored), or None."""
    raw = _ISBN_CHARS.sub("", text).upper()
    if len(raw) == 10 and raw[:9].isdigit() and raw[9] in "0123456789X":
        if _isbn10_check(raw[:9]) != raw[9]:
            return None
        body = "978" + raw[:9]
        return body + _isbn13_check(body)
    if len(raw) == 13 and raw.isdigit() and raw[:3] in ("978", "979"):
        return raw if _isbn13_check(raw[:12]) == raw[12] else None
    return None


def isbn_tokens(isbn: str) -> list[str]:
    """Index tokens for one ISBN: the 13-digit form and, for 978 ISBNs, the 10-character form."""
    thirteen = isbn13(isbn) or _ISBN_CHARS.sub("", isbn)
    out = [thirteen.lower()]
    if len(thirteen) == 13 and thirteen.startswith("978"):
        out.append((thirteen[3:12] + _isbn10_check(thirteen[3:12])).lower())
    return out


def identifier_tokens(value: str) -> list[str]:
    """Keyword tokens of a call number or CLC number: the whole value, lowercased, without
    spaces; each space-separated part; and the class part before ``/`` (I246.5/12 -> i246.5)."""
    norm = unicodedata.normalize("NFKC", value).lower().strip()
    if not norm:
        return []
    parts = norm.split()
    out = ["".join(parts), *parts]
    if "/" in norm:
        out.append(norm.split("/", 1)[0].strip().replace(" ", ""))
    return [t for t in dict.fromkeys(out) if t and len(t) <= MAX_TOKEN_CHARS]


def identifier_query_token(chunk: str) -> str:
    """The keyword a query chunk would be as an identifier: an ISBN-13, or the lowercased text."""
    return isbn13(chunk) or unicodedata.normalize("NFKC", chunk).lower()


def looks_like_identifier(chunk: str) -> bool:
    """True for ISBNs and call/class numbers: a chunk mixing digits with letters or . / -."""
    if isbn13(chunk):
        return True
    has_digit = any(c.isdigit() for c in chunk)
    return has_digit and any(not c.isdigit() for c in chunk) and not has_cjk(chunk)


# --- suggestion keys ------------------------------------------------------------------------

_ARTICLES = ("the_", "a_", "an_")


def suggestion_key(text: str) -> str:
    """Normalised words joined by ``_``: the form suggestion prefixes are compared in."""
    return "_".join(_WORD.findall(normalize(text)))


def suggestion_keys(title: str, romanised: Iterable[str] = ()) -> list[str]:
    """Keys a title is suggested under: its normalised words (also without a leading article),
    its full pinyin and initials, and the pinyin forms of the ``romanised`` titles given."""
    keys: list[str] = []
    key = suggestion_key(title)
    if key:
        keys.append(key)
        for article in _ARTICLES:
            if key.startswith(article) and len(key) > len(article):
                keys.append(key[len(article) :])
    forms = pinyin_forms(title)
    if forms is not None:
        keys += [forms.whole, forms.initials]
    for other in romanised:
        roman = romanised_pinyin(other)
        if roman is not None:
            keys += [roman.whole, roman.initials]
    return [k for k in dict.fromkeys(keys) if k]


def edge_grams(key: str, max_chars: int) -> list[str]:
    return [key[:i] for i in range(1, min(len(key), max_chars) + 1)]
