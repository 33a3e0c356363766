"""Title normalization shared by show keys, TMDB matching and Rotten Tomatoes matching."""
from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'"})
_NON_WORD = re.compile(r"[\W_]+")  # keeps letters and digits of every script
_LEADING_ARTICLE = re.compile(r"^(the|a|an) ")


def normalize_title(title: str) -> str:
    """Lower-case, accents stripped, punctuation and '&'/'and' folded, one space between
    words; a leading article is kept (`The Office` and `Office` are different shows)."""
    text = unicodedata.normalize("NFKD", title.translate(_QUOTES))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ").replace("'", "")
    return _NON_WORD.sub(" ", text).strip()


def loose_title(title: str) -> str:
    """normalize_title without a leading article, for fuzzy comparison only."""
    return _LEADING_ARTICLE.sub("", normalize_title(title))
