"""The warehouse reads of the quality steps hold each distinct text once (quality.store.read_frame) and
format each distinct date once, giving exactly what DuckDB's ``df()`` and pandas' ``strftime`` give."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from quality.plausibility import _date_text
from quality.store import READ_CHUNK_VECTORS, read_frame

# more rows than two of read_frame's chunks, so values meet across chunk boundaries
ROWS = 2 * READ_CHUNK_VECTORS * 2048 + 777


def _warehouse(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute(f"""
        create table t as select
            i as source_row,
            'record_' || (i % 997) as record_id,
            case when i % 5 = 0 then null else 'event_' || (i % 3) end as event_name,
            case when i > {ROWS - 100} then null else i % 7 end as repeat_instance,
            date '2020-01-01' + (i % 400)::int as assessment_date,
            case when i % 2 = 0 then null else i / 3.0 end as value,
            null::varchar as blank
        from range({ROWS}) as r(i)""")
    return conn


def test_read_frame_gives_what_df_gives_with_each_text_held_once(tmp_path):
    conn = _warehouse(tmp_path)
    for sql, params in (("select * from t", None), ("select * from t where source_row < ?", [10]),
                        ("select * from t where false", None)):
        expected, got = conn.execute(sql, params or []).df(), read_frame(conn, sql, params)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        for c in ("record_id", "event_name", "blank"):  # None (not NaN) for NULL, str for text, as df() gives
            assert got[c].map(type).equals(expected[c].map(type))
    whole = read_frame(conn, "select record_id, event_name from t")
    assert len({id(v) for v in whole["record_id"]}) == 997
    assert len({id(v) for v in whole["event_name"]}) == 3 + 1  # three texts and None


def test_date_text_is_strftime_of_each_date():
    dates = pd.Series(np.array(["2020-01-02", "NaT", "2020-01-02", "0202-05-01", "2024-02-29", "NaT"],
                               dtype="datetime64[us]"), index=[5, 3, 9, 1, 0, 2])
    expected = dates.dt.strftime("%Y-%m-%d")
    got = _date_text(dates)
    pd.testing.assert_series_equal(got, expected, check_exact=True)
    assert got.map(type).equals(expected.map(type))  # NaN (a float) where the date is missing, as strftime gives
    empty = pd.Series([], dtype="datetime64[us]")
    pd.testing.assert_series_equal(_date_text(empty), empty.dt.strftime("%Y-%m-%d"))
