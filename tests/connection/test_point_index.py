"""The KD-tree of connection points behind a preview's reasons (points.PointIndex): the rows a
scan of every point finds, and cached with the points it indexes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from onemap.connection.points import PointIndex, connection_points, point_index

coord = st.floats(-5000, 5000, allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.tuples(coord, coord, st.booleans()), min_size=0, max_size=60),
    coord,
    coord,
    st.floats(0.0, 4000.0),
)
@settings(max_examples=200, deadline=None)
def test_near_is_a_scan_of_every_point(rows, cx, cy, reach):
    x = np.array([r[0] if r[2] else np.nan for r in rows], dtype=float)  # some without a place
    y = np.array([r[1] for r in rows], dtype=float)
    frame = pd.DataFrame({"asset_id": [f"A{i}" for i in range(len(rows))], "x": x, "y": y})
    got = PointIndex(frame).near(cx, cy, reach)
    d = np.hypot(x - cx, y - cy)
    clear = np.abs(d - reach) > 1e-6 * max(reach, 1.0)  # rounding decides on the circle only
    want = np.flatnonzero(d <= reach)
    assert np.all(np.diff(got) > 0)  # ascending, each row once
    assert set(got[clear[got]].tolist()) == set(want[clear[want]].tolist())


def test_the_index_is_cached_with_the_points(demo_map):
    index = point_index(demo_map, "lv_residential")
    assert index.frame is connection_points(demo_map, "lv_residential")
    assert point_index(demo_map, "lv_residential") is index
    assert index.ids == set(index.frame["asset_id"])
    planned = point_index(demo_map, "lv_residential", include_planned=True)
    assert planned.frame is connection_points(demo_map, "lv_residential", include_planned=True)
