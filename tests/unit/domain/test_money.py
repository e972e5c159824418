"""Money helpers: Decimal conversion and half-up rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aigupiao.domain.money import CENT, ZERO, cny, round_half_up, to_decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (0.3, "0.3"),
        (9.26, "9.26"),
        (10.19, "10.19"),
        (1e-7, "1E-7"),
        (-2.5, "-2.5"),
        (7, "7"),
        (0, "0"),
        (-100, "-100"),
        ("9.26", "9.26"),
        (" 12.50 ", "12.50"),
        ("1e3", "1E+3"),
        (Decimal("3.14159"), "3.14159"),
    ],
)
def test_to_decimal_values(value: object, expected: str) -> None:
    result = to_decimal(value)
    assert isinstance(result, Decimal)
    assert result == Decimal(expected)
    assert str(result) == expected


def test_float_goes_through_repr_not_binary_expansion() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    binary_expansion = Decimal.from_float(0.1)  # 0.1000000000000000055511151231257827...
    assert to_decimal(0.1) != binary_expansion
    assert to_decimal(0.1) + to_decimal(0.2) == Decimal("0.3")


def test_decimal_passes_through_unchanged() -> None:
    value = Decimal("10.190")
    assert to_decimal(value) is value


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        float("nan"),
        float("inf"),
        float("-inf"),
        "nan",
        "NaN",
        "Infinity",
        "-inf",
        "sNaN",
        Decimal("NaN"),
        Decimal("Infinity"),
        "abc",
        "",
        "1,000",
        None,
        [1],
        b"1",
        1 + 2j,
    ],
)
def test_to_decimal_rejects_non_finite_and_non_numbers(value: object) -> None:
    with pytest.raises(ValueError) as info:
        to_decimal(value)
    assert repr(value) in str(info.value)


def test_to_decimal_error_is_chained_from_invalid_operation() -> None:
    with pytest.raises(ValueError) as info:
        to_decimal("not a price")
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("0.015", "0.02"),
        ("2.675", "2.68"),  # float rounding would give 2.67
        ("1.115", "1.12"),
        ("1.125", "1.13"),  # half-even would give 1.12
        ("-0.005", "-0.01"),
        ("-1.125", "-1.13"),
        ("10", "10.00"),
        ("123456.789", "123456.79"),
    ],
)
def test_cny_rounds_half_up_to_the_cent(value: str, expected: str) -> None:
    result = cny(Decimal(value))
    assert result == Decimal(expected)
    assert str(result) == expected


def test_round_half_up_to_a_fund_tick() -> None:
    assert round_half_up(Decimal("2.5795"), Decimal("0.001")) == Decimal("2.580")
    assert str(round_half_up(Decimal("2.5795"), Decimal("0.001"))) == "2.580"
    assert round_half_up(Decimal("2.1104"), Decimal("0.001")) == Decimal("2.110")
    assert round_half_up(Decimal("12.5"), Decimal("1")) == Decimal("13")


def test_constants() -> None:
    assert Decimal("0.01") == CENT
    assert Decimal(0) == ZERO
