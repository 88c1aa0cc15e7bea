"""Slicing batches: every value once, in order, in slices a database accepts."""

from __future__ import annotations

import pytest

from erepwatch.batching import EXACT_ROWS, STATEMENT_ROWS, chunked, sized_for_statements


def test_chunked_keeps_order_and_size():
    assert [list(c) for c in chunked(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError):
        list(chunked([1], 0))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 255, 256, 257, 300, 500, 1000, 1313])
def test_statement_slices_keep_order_and_few_sizes(n):
    values = list(range(n))
    slices = [list(s) for s in sized_for_statements(values)]
    assert [v for s in slices for v in s] == values
    sizes = [len(s) for s in slices]
    assert all(0 < size <= STATEMENT_ROWS for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    # Powers of two while at least EXACT_ROWS are left, then the rest in one slice.
    assert all(size & (size - 1) == 0 for size in sizes[:-1])
    assert sizes[-1:] == [] or sizes[-1] < EXACT_ROWS or sizes[-1] & (sizes[-1] - 1) == 0
    # Full slices of the largest size, then at most one slice per binary digit of the rest (16 … 128), and one more.
    assert len(sizes) <= n // STATEMENT_ROWS + 5


def test_a_small_batch_is_one_slice():
    assert [len(s) for s in sized_for_statements(range(EXACT_ROWS - 1))] == [EXACT_ROWS - 1]
    assert [len(s) for s in sized_for_statements(range(47))] == [32, 15]


def test_statement_slices_use_at_most_twenty_sizes():
    sizes = {len(s) for n in range(1, 1200) for s in sized_for_statements(range(n))}
    assert sizes == set(range(1, EXACT_ROWS)) | {16, 32, 64, 128, 256}


def test_statement_slices_refuse_a_largest_size_not_a_power_of_two():
    with pytest.raises(ValueError):
        list(sized_for_statements([1, 2, 3], 100))
