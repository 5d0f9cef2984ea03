"""``POST /api/v1/check-route``'s answer (:func:`web.verdicts.check_route_dict`) against the
library verdict plus each segment cut from the route one at a time with
``shapely.ops.substring`` (issue 18: the segments' geometry is cut and built in one pass)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping
from shapely.ops import substring

from onemap.geo.crs import STORAGE_CRS, transformer
from onemap.routing import check_route
from onemap.routing.routefile import as_metric_line
from web.verdicts import check_route_dict


def zigzag(n: int, amp: float = 0.0001) -> dict:
    """Across the demo's east-west street and back, ``n`` vertices (as the benchmark does)."""
    x = np.linspace(119.1952, 119.1975, n)
    y = 34.5999 + np.where(np.arange(n) % 2, amp, -amp)
    return {"type": "LineString", "coordinates": np.column_stack([x, y]).tolist()}


ROUTES = {
    "zigzag": zigzag(150),
    "wide zigzag": zigzag(40, amp=0.0003),
    "along": {"type": "LineString", "coordinates": [[119.1952, 34.5999], [119.1975, 34.5999]]},
    "two parts": {
        "type": "MultiLineString",
        "coordinates": [
            [[119.1952, 34.59995], [119.1960, 34.59985]],
            [[119.1960, 34.59985], [119.1970, 34.6001], [119.1975, 34.5999]],
        ],
    },
}


def reference_geometry(crs_metric: str, line: shapely.LineString, segments) -> list[dict]:
    """Each segment's part of the route, cut and projected one segment at a time."""
    forward = transformer(crs_metric, STORAGE_CRS)
    out = []
    for s in segments:
        xy = shapely.get_coordinates(substring(line, s.start_m, s.end_m))
        pts = np.column_stack(forward.transform(xy[:, 0], xy[:, 1])).tolist()
        out.append(
            {"type": "Point", "coordinates": pts[0]}
            if len(pts) == 1
            else {"type": "LineString", "coordinates": pts}
        )
    return out


@pytest.mark.parametrize("name", sorted(ROUTES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_check_route_dict_is_the_verdict_plus_each_segment_cut_alone(demo_map, name, lang):
    route = ROUTES[name]
    out = check_route_dict(demo_map, route, 10.0, None, lang, max_vertices=None)
    metric = as_metric_line(route, demo_map.crs_metric, max_vertices=None)
    verdict = check_route(demo_map, metric, 10.0)
    line = shapely.line_merge(metric) if metric.geom_type != "LineString" else metric
    assert line.geom_type == "LineString" and len(verdict.segments) >= 1
    geoms = [seg.pop("geometry") for seg in out["segments"]]
    assert json.dumps(geoms) == json.dumps(
        reference_geometry(demo_map.crs_metric, line, verdict.segments)
    )
    # the route itself: what shapely's mapping of the projected route writes
    forward = transformer(demo_map.crs_metric, STORAGE_CRS)
    projected = shapely.transform(
        metric, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))
    )
    assert json.dumps(out.pop("geometry")) == json.dumps(mapping(projected))
    assert json.dumps(out, ensure_ascii=False) == json.dumps(
        verdict.to_dict(lang), ensure_ascii=False
    )
