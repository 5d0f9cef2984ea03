"""Hand-made maps with an LV main (``lines`` layer), in metres (see tests/connection/maps.py).

One 28 m road R1 along y = 0 from x = -100 to 1500; transformer T1 at (0, 14) (400 kVA, peak
100 kVA); the main L1..Ln runs under the north sidewalk (y = 12) from T1 eastwards in 100 m
NAYY 4x150 SE sections; parcel P1 north of the road at x 500–560 with its door at (530, 20).
"""

from __future__ import annotations

from connection.maps import line, make_map, parcel, road, transformer


def main_lines(length_m: float = 600.0, section_m: float = 100.0, kind="NAYY 4x150 SE", **kw):
    rows, x, k, prev = [], 0.0, 0, "T1"
    while x < length_m - 1e-9:
        nxt = min(x + section_m, length_m)
        bus = f"B{k + 1}"
        rows.append(
            {
                "line_id": f"L{k + 1}",
                "voltage_kv": 0.4,
                "from_id": prev,
                "to_id": bus,
                "transformer_id": "T1",
                "type": kind,
                "length_m": nxt - x,
                "rated_a": 270.0,
                "geometry": line((x, 12), (nxt, 12)),
                **kw,
            }
        )
        prev, x, k = bus, nxt, k + 1
    return rows


def lv_map(load_kw: float = 50.0, with_lines: bool = True, tx_peak: float = 100.0, **kw):
    return make_map(
        landuse=[
            parcel(
                "P1",
                500,
                20,
                560,
                80,
                code="0701",
                planned_load_kw=load_kw,
                district="d",
                door_lon=None,
                door_lat=None,
            )
        ],
        roads=[road("R1", (-100, 0), (1500, 0))],
        assets=[transformer("T1", 0, 14, 400.0, tx_peak)],
        lines=main_lines(**kw) if with_lines else [],
    )
