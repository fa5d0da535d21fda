"""Property: whatever happens to an export file's rows, the load does not crash and every row is accounted for.

Random corruptions of a generated drop (cells overwritten with arbitrary text, ragged rows, duplicated rows,
bytes that are not UTF-8, a truncated last line, blanked record ids) go through the real landing in DuckDB and
the real conformance suites; export rows = loaded rows + quarantined rows, always.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.deidentify import PseudonymKey
from ingest.drops import open_drop
from ingest.land import land_drop
from ingest.reader import UnreadableFileError
from quality.conformance import run_conformance
from quality.gx_runner import GXRunner
from study.definition import load_study
from study.generate import main as generate

STUDY = load_study()
KEY = PseudonymKey(b"property-test", "environment")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("inbox")
    generate(["--patients", "6", "--seed", "5", "--out", str(inbox)])
    (drop,) = [p for p in inbox.iterdir() if p.is_dir()]
    return drop


corruption = st.one_of(
    # any text but NUL: a file holding a NUL byte is refused whole (test_a_nul_byte_refuses_the_file below)
    st.tuples(st.just("cell"), st.integers(1, 10_000), st.integers(0, 200),
              st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)),
    st.tuples(st.just("ragged"), st.integers(1, 10_000), st.integers(1, 5), st.just("")),
    st.tuples(st.just("duplicate"), st.integers(1, 10_000), st.just(0), st.just("")),
    st.tuples(st.just("bad_bytes"), st.integers(1, 10_000), st.just(0), st.just("")),
    st.tuples(st.just("no_record_id"), st.integers(1, 10_000), st.just(0), st.just("")),
    st.tuples(st.just("truncate"), st.integers(1, 400), st.just(0), st.just("")),
)


def corrupt(data: bytes, operations) -> bytes:
    header, *lines = data.split(b"\n")
    lines = [line for line in lines if line]
    for kind, at, amount, text in operations:
        if not lines:
            break
        i = at % len(lines)
        cells = lines[i].split(b",")
        if kind == "cell":
            cells[amount % len(cells)] = text.encode("utf-8")
            lines[i] = b",".join(cells)
        elif kind == "ragged":
            lines[i] = b",".join(cells[:-amount] if len(cells) > amount else cells + [b""] * amount)
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "bad_bytes":
            lines[i] = lines[i] + b"\xff\xfe"
        elif kind == "no_record_id":
            lines[i] = b"," + b",".join(cells[1:])
        elif kind == "truncate":
            lines[-1] = lines[-1][: at % max(1, len(lines[-1]))]
    return b"\n".join([header, *lines]) + b"\n"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(corruption, min_size=1, max_size=8))
def test_a_corrupted_drop_loads_and_every_row_is_accounted_for(pristine, operations):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / pristine.name
        shutil.copytree(pristine, folder)
        records = next(folder.glob("SSC_DATA_*.csv"))
        records.write_bytes(corrupt(records.read_bytes(), operations))
        with duckdb.connect(str(Path(tmp) / "w.duckdb")) as conn:
            landing = land_drop(conn, open_drop(folder), STUDY, KEY)
            if landing.stops:  # e.g. a stray quote swallowed rows: nothing is loaded, the stop names the lines
                assert not conn.execute("select count(*) from information_schema.tables "
                                        "where table_schema = 'raw'").fetchall()[0][0]
                assert all(f.action == "blocked" and "line" in f.message for f in landing.stops)
                assert landing.export_rows == landing.readable_rows + landing.unreadable_rows
                return
            raw = conn.execute("select * from raw.records").df()
        result = run_conformance(raw, STUDY, GXRunner(), build_docs=False)
    assert landing.export_rows == landing.readable_rows + landing.unreadable_rows
    assert len(raw) == landing.readable_rows
    assert len(result.kept) + result.quarantined_rows == len(raw)
    assert set(result.quarantine["_source_row"]) <= set(raw["_source_row"])
    assert result.findings["severity"].isin(["error", "warning"]).all()


def test_a_nul_byte_refuses_the_file(pristine, tmp_path):
    """One NUL byte in a cell: the file is not a text CSV export, and nothing is loaded; the error names the file
    and what to do (the run prints it as its one BLOCKED line)."""
    folder = tmp_path / pristine.name
    shutil.copytree(pristine, folder)
    records = next(folder.glob("SSC_DATA_*.csv"))
    records.write_bytes(corrupt(records.read_bytes(), [("cell", 3, 110, "a\x00b")]))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        with pytest.raises(UnreadableFileError, match=rf"^{records.name}: the file holds NUL bytes; .*REDCap"):
            land_drop(conn, open_drop(folder), STUDY, KEY)
        assert not conn.execute("select count(*) from information_schema.tables "
                                "where table_schema = 'raw'").fetchall()[0][0]
