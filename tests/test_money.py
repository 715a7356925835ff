import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.money import parse_amount


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("50000", 5_000_000),
        ("50,000", 5_000_000),
        ("$5,000.50", 500_050),
        ("50k", 5_000_000),
        ("1.2M", 120_000_000),
        ("5万", 5_000_000),
        ("￥3000元", 300_000),
        ("0", None),
        ("-5", None),
        ("abc", None),
        ("1e9", None),
    ],
)
def test_amounts(text, cents):
    assert parse_amount(text) == cents


@given(st.text(max_size=30))
def test_never_raises(text):
    result = parse_amount(text)
    assert result is None or result > 0
