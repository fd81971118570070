"""How many vision tiles an image costs, and the resize that keeps it within a budget.

SmolVLM-style processors resize the image so its longest edge equals ``longest_edge``, round both
sides up to whole tiles and encode each tile plus one downscaled overview. Every tile is a full pass
of the vision encoder (1-2 s on a laptop CPU), so the tile count is the main knob for latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TILE_BUDGETS = (1, 4, 9, 16)


@dataclass(frozen=True)
class TilePlan:
    longest_edge: int
    rows: int
    cols: int

    @property
    def tiles(self) -> int:
        """Encoder passes: the grid (when the image is split) plus the overview."""
        grid = self.rows * self.cols
        return grid + 1 if grid > 1 else 1


def _grid(width: int, height: int, longest_edge: int, tile: int) -> tuple[int, int]:
    long_side, short_side = max(width, height), min(width, height)
    scaled_short = int(longest_edge * short_side / long_side)
    long_tiles = math.ceil(longest_edge / tile)
    short_tiles = max(1, math.ceil(scaled_short / tile))
    return (short_tiles, long_tiles) if width >= height else (long_tiles, short_tiles)


def plan_tiles(width: int, height: int, tile: int, max_grid: int, model_longest_edge: int) -> TilePlan:
    """The largest resize whose grid has at most ``max_grid`` tiles, never upscaling past what the image needs.

    ``max_grid`` counts grid tiles (the overview comes on top); ``model_longest_edge`` is the processor's
    own ceiling (2048 for the small SmolVLM2 models).
    """
    if width < 1 or height < 1 or tile < 1 or max_grid < 1:
        raise ValueError("width, height, tile and max_grid must be positive")
    # More tiles than the picture has pixels for would only upscale it.
    needed = max(1, math.ceil(max(width, height) / tile))
    ceiling = max(1, model_longest_edge // tile)
    for tiles_on_long_side in range(min(needed, ceiling), 0, -1):
        edge = tiles_on_long_side * tile
        rows, cols = _grid(width, height, edge, tile)
        if rows * cols <= max_grid:
            return TilePlan(edge, rows, cols)
    return TilePlan(tile, 1, 1)
