"""money.allocate: the one largest-remainder split behind every share (SPEC section 5)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swp.money import allocate

handles = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=6)
weights_st = st.dictionaries(handles, st.integers(min_value=0, max_value=10**12), min_size=1, max_size=12)
totals = st.integers(min_value=-(10**13), max_value=10**13)


@settings(max_examples=300, deadline=None)
@given(total=totals, weights=weights_st)
def test_parts_add_up_and_each_is_its_exact_share_rounded_down_or_up(total, weights):
    if sum(weights.values()) == 0 and total != 0:
        with pytest.raises(ValueError):
            allocate(total, weights)
        return
    parts = allocate(total, weights)
    assert set(parts) == set(weights)
    assert sum(parts.values()) == total
    whole = sum(weights.values())
    for key, weight in weights.items():
        exact = Fraction(total * weight, whole) if whole else Fraction(0)
        floor = exact.numerator // exact.denominator
        ceil = -((-exact.numerator) // exact.denominator)
        assert parts[key] in (floor, ceil), (key, parts[key], exact)
        if weight == 0:
            assert parts[key] == 0


@settings(max_examples=200, deadline=None)
@given(total=totals, weights=weights_st, data=st.data())
def test_shuffling_the_member_order_changes_nothing(total, weights, data):
    if sum(weights.values()) == 0:
        return
    order = data.draw(st.permutations(list(weights)))
    shuffled = {key: weights[key] for key in order}
    assert allocate(total, shuffled) == allocate(total, weights)


@settings(max_examples=200, deadline=None)
@given(total=st.integers(min_value=1, max_value=10**12), weights=weights_st)
def test_a_deficit_is_the_negated_split_of_its_absolute_value(total, weights):
    if sum(weights.values()) == 0:
        return
    positive = allocate(total, weights)
    assert allocate(-total, weights) == {k: -v for k, v in positive.items()}


@settings(max_examples=100, deadline=None)
@given(weights=weights_st)
def test_zero_splits_into_zeros(weights):
    assert allocate(0, weights) == {key: 0 for key in weights}


def test_left_over_pennies_go_to_the_largest_remainders_then_by_handle():
    # 100p in thirds: 33 each, one penny left; the remainders tie, so the first handle gets it
    assert allocate(100, {"cal": 1, "ann": 1, "bea": 1}) == {"ann": 34, "bea": 33, "cal": 33}
    # 10p by 1:2:3 is 1.67, 3.33, 5: floors 1, 3, 5; the penny goes to the largest remainder
    assert allocate(10, {"a": 1, "b": 2, "c": 3}) == {"a": 2, "b": 3, "c": 5}
    assert allocate(-100, {"cal": 1, "ann": 1, "bea": 1}) == {"ann": -34, "bea": -33, "cal": -33}


def test_negative_weights_and_an_unsplittable_total_are_refused():
    with pytest.raises(ValueError):
        allocate(100, {"a": -1, "b": 2})
    with pytest.raises(ValueError):
        allocate(100, {"a": 0, "b": 0})
