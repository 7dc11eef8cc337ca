"""Amounts in Chinese capital numerals (大写), as the pledge confirmation repeats them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resident_portal.common import CAPITAL_DIGITS, MAX_CAPITAL_FEN, capital_yuan

EXAMPLES = {
    0: "零元整",
    5: "伍分",
    50: "伍角",
    55: "伍角伍分",
    100: "壹元整",
    1000: "壹拾元整",
    120000: "壹仟贰佰元整",
    100050: "壹仟元伍角",
    100005: "壹仟元零伍分",
    100500: "壹仟零伍元整",
    105000: "壹仟零伍拾元整",
    168032: "壹仟陆佰捌拾元叁角贰分",
    10001000: "壹拾万零壹拾元整",
    100000000: "壹佰万元整",
    1000000100: "壹仟万零壹元整",
    10000100000: "壹亿零壹仟元整",
    12345678912: "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分",
    100000000000000: "壹万亿元整",
}


@pytest.mark.parametrize("fen,words", EXAMPLES.items())
def test_known_amounts(fen, words):
    assert capital_yuan(fen) == words


@pytest.mark.parametrize("bad", [-1, MAX_CAPITAL_FEN + 1, 1.5, True, "100"])
def test_refuses_what_is_not_an_amount(bad):
    with pytest.raises(ValueError):
        capital_yuan(bad)


_DIGIT = {c: i for i, c in enumerate(CAPITAL_DIGITS)}
_SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def read_back(words: str) -> int:
    """The amount in fen that a cashier reads from the words (an independent reading)."""
    fen = 0
    if "元" in words:
        yuan_words, words = words.split("元")
        total, section, digit = 0, 0, 0
        for char in yuan_words:
            if char in _DIGIT:
                digit = _DIGIT[char]
            elif char in _SMALL:
                section += digit * _SMALL[char]
                digit = 0
            elif char == "万":
                section += digit
                # 万亿: the 万 after 亿 multiplies what stands before it again
                total = total * 10_000 if total and not section else total + section * 10_000
                section, digit = 0, 0
            elif char == "亿":
                total = (total + section + digit) * 100_000_000
                section, digit = 0, 0
        fen = (total + section + digit) * 100
    for char, value in (("角", 10), ("分", 1)):
        if char in words:
            before, words = words.split(char)
            fen += _DIGIT[before[-1]] * value
    return fen


@given(st.integers(min_value=0, max_value=10**14))
def test_words_read_back_as_the_same_amount(fen):
    words = capital_yuan(fen)
    assert read_back(words) == fen
    assert words.endswith("整") == (fen % 100 == 0)
    assert words.endswith("分") == (fen % 10 != 0)
    assert "零零" not in words and not words.startswith("零") or fen == 0
    # 零 after 元 exactly when the 角 place is empty and a 分 follows
    assert ("元零" in words) == (fen >= 100 and fen % 100 < 10 and fen % 10 != 0)
    assert not words.endswith("零")
    # only capital numerals: a small 一二三 could be changed into another digit by a stroke
    assert not set(words) & set("一二三四五六七八九十百千")
