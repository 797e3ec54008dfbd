"""A requirement's condition reads as one phrase: the catalog's own connective ("bagi WNI",
"hanya bila …") is kept, a bare condition ("diwakilkan") gets "hanya jika"."""

import pytest

from mppdesk.printing.text import _condition_words


@pytest.mark.parametrize(
    ("condition", "lang", "words"),
    [
        ("bagi WNI", "id", "bagi WNI"),
        ("untuk jual beli", "id", "untuk jual beli"),
        ("hanya bila KK hilang", "id", "hanya bila KK hilang"),
        ("diwakilkan", "id", "hanya jika diwakilkan"),
        ("for citizens", "en", "for citizens"),
        ("represented", "en", "only if represented"),
    ],
)
def test_condition_words(condition, lang, words):
    assert _condition_words(condition, lang) == words
