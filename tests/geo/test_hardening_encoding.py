"""Issue 12, item 10: a single-byte --encoding (or .cpg) on a GBK DBF is refused with exit 2
naming the file, row and field, instead of storing mojibake; genuine Latin-1 text still builds."""

from __future__ import annotations

import pytest

from onemap.geo.mapfile import read_map

from .test_build import expect_bad, files, landuse_gdf, run  # noqa: F401 (files: a fixture)

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*truncated:UserWarning", "ignore:Normalized/laundered:RuntimeWarning"
)
NAMES = ["海州区住宅地块", "新浦商业街"]


def _shapefile(tmp, names, encoding, cpg: str | None = None):
    gdf = landuse_gdf()
    gdf["name"] = names
    src = tmp / "landuse.shp"
    gdf.to_file(src, encoding=encoding)
    src.with_suffix(".cpg").unlink(missing_ok=True)
    if cpg:
        src.with_suffix(".cpg").write_text(cpg)
    return src


@pytest.mark.parametrize("enc", ["latin1", "ISO-8859-1", "cp1252", "cp437", "mac_roman"])
def test_single_byte_encoding_on_gbk_dbf_is_refused(files, enc):  # noqa: F811
    tmp, roads, _ = files
    src = _shapefile(tmp, NAMES, "GBK")
    out = tmp / "m.gpkg"
    expect_bad(
        run("build", str(roads), str(src), "--encoding", enc, "--out", str(out)),
        "landuse.dbf",
        "row 0",
        "field 'name'",
        "GB18030",
        "海州区住宅地块",
    )
    assert not out.exists()


def test_single_byte_cpg_on_gbk_dbf_is_refused(files):  # noqa: F811
    tmp, roads, _ = files
    src = _shapefile(tmp, NAMES, "GBK", cpg="1252")
    expect_bad(
        run("build", str(roads), str(src), "--out", str(tmp / "m.gpkg")),
        "landuse.dbf",
        "row 0",
        "field 'name'",
    )


def test_genuine_latin1_text_still_builds(files):  # noqa: F811
    tmp, roads, _ = files
    names = ["Café Müller", "Straße Nr. 5 à côté"]
    src = _shapefile(tmp, names, "latin1")
    r = run("build", str(roads), str(src), "--encoding", "latin1", "--out", str(tmp / "m.gpkg"))
    assert r.exit_code == 0, r.output
    assert list(read_map(tmp / "m.gpkg")["landuse"]["name"]) == names


def test_gbk_with_gb18030_still_builds(files):  # noqa: F811
    tmp, roads, _ = files
    src = _shapefile(tmp, NAMES, "GBK")
    r = run("build", str(roads), str(src), "--encoding", "GB18030", "--out", str(tmp / "m.gpkg"))
    assert r.exit_code == 0, r.output
    assert list(read_map(tmp / "m.gpkg")["landuse"]["name"]) == NAMES
