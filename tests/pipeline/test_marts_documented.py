"""The marts of the demo run (no run of its own) are what _marts.yml describes: every column, and only those, with
a description and a label; ADaM variables in UPPERCASE, the study's own in lowercase, as pandas reads them."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from test_nightly import REPO

pytestmark = pytest.mark.slow

MARTS_YML = REPO / "dbt_project" / "models" / "marts" / "_marts.yml"


def _documented() -> dict[str, list[dict]]:
    return {m["name"]: m["columns"] for m in yaml.safe_load(MARTS_YML.read_text(encoding="utf-8"))["models"]}


def test_every_mart_column_is_described_with_a_label(demo_run):
    home, _ = demo_run
    documented = _documented()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        built = {mart: conn.execute(f"select * from marts.{mart} limit 0").df().columns.tolist()
                 for mart in documented}
    for mart, columns in documented.items():
        assert built[mart] == [c["name"] for c in columns], mart  # same names, same case, same order
        for c in columns:
            assert c.get("description") and c.get("meta", {}).get("label"), (mart, c["name"])
            assert c["name"] in (c["name"].upper(), c["name"].lower()), (mart, c["name"])
    assert {"USUBJID", "PARAMCD", "AVAL", "ANL01FL"} <= set(built["adbds"])
    assert {"CNSR", "EVNTDESC", "STARTDT", "ADT"} <= set(built["adtte"])
