from __future__ import annotations

import pytest

from core.engines.tiling import TilePlan, plan_tiles


@pytest.mark.parametrize(
    ("size", "max_grid", "expected"),
    [
        # A small image is never upscaled beyond one tile's worth per side it needs.
        ((300, 200), 16, TilePlan(512, 1, 1)),
        ((600, 400), 16, TilePlan(1024, 2, 2)),
        # A big square photo: the budget, not the picture, decides.
        ((4000, 4000), 4, TilePlan(1024, 2, 2)),
        ((4000, 4000), 9, TilePlan(1536, 3, 3)),
        ((4000, 4000), 16, TilePlan(2048, 4, 4)),
        ((4000, 4000), 1, TilePlan(512, 1, 1)),
        # Wide image: the long side gets more tiles within the same budget.
        ((4000, 1000), 4, TilePlan(2048, 1, 4)),
        ((4000, 2000), 4, TilePlan(1024, 1, 2)),
        # Portrait: rows and columns swap.
        ((1000, 4000), 4, TilePlan(2048, 4, 1)),
        # The model's own ceiling (2048) caps even a generous budget.
        ((9000, 9000), 100, TilePlan(2048, 4, 4)),
    ],
)
def test_plan_tiles(size, max_grid, expected):
    assert plan_tiles(*size, tile=512, max_grid=max_grid, model_longest_edge=2048) == expected


@pytest.mark.parametrize(
    ("plan", "tiles"), [(TilePlan(512, 1, 1), 1), (TilePlan(1024, 2, 2), 5), (TilePlan(2048, 1, 4), 5)]
)
def test_tile_count_includes_the_overview_when_split(plan, tiles):
    assert plan.tiles == tiles


@pytest.mark.parametrize("bad", [(0, 10, 512, 4), (10, 10, 0, 4), (10, 10, 512, 0)])
def test_invalid_arguments(bad):
    width, height, tile, max_grid = bad
    with pytest.raises(ValueError):
        plan_tiles(width, height, tile, max_grid, 2048)
