"""Writing tables chunk by chunk as CSV (DuckDB ``COPY``) or Parquet (pyarrow).

CSV: UTF-8, a header line, ``,`` separated, fields quoted with ``"`` only when
needed (``""`` inside), NULL written as an empty field, ``\\n`` line ends. Each chunk
is copied to a temporary part file that is appended to the target, so memory stays
bounded. Parquet: one row group per chunk, zstd compressed, all columns typed as in
the CSV's natural reading (strings, integers, DECIMAL(12,2) money).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .dirty import DirtyCounts

__all__ = ["FORMATS", "TableWriter", "write_manifest"]

FORMATS = ("csv", "parquet")


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class TableWriter:
    """Appends Arrow tables of one kind to ``<out_dir>/<kind>.<fmt>``."""

    def __init__(self, out_dir: Path, kind: str, fmt: str, con: duckdb.DuckDBPyConnection) -> None:
        self.kind = kind
        self.fmt = fmt
        self.con = con
        self.path = out_dir / f"{kind}.{fmt}"
        self.part = out_dir / f".{kind}.part.csv"
        self.rows = 0
        self.dirty = DirtyCounts()
        self._fh: Any = open(self.path, "wb") if fmt == "csv" else None  # noqa: SIM115
        self._pq: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, tbl: pa.Table, dirty: DirtyCounts | None = None) -> None:
        """Append ``tbl`` (the first call fixes the schema)."""
        if self._schema is None:
            self._schema = pa.schema([f.with_nullable(True) for f in tbl.schema])
        else:
            tbl = tbl.cast(self._schema)
        if dirty is not None:
            self.dirty.add(dirty)
        if self.fmt == "csv":
            first = self.rows == 0 and self._fh.tell() == 0
            self.con.register("w_t", tbl)
            self.con.execute(
                f"COPY w_t TO {_sql_path(self.part)} (FORMAT csv, HEADER {str(first).lower()}, "
                "DELIMITER ',', QUOTE '\"', ESCAPE '\"')"
            )
            self.con.unregister("w_t")
            with open(self.part, "rb") as src:
                shutil.copyfileobj(src, self._fh, 1 << 22)
            self.part.unlink()
        else:
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            self._pq.write_table(tbl, row_group_size=max(tbl.num_rows, 1))
        self.rows += tbl.num_rows

    def write_lines(
        self, header: str, lines: pa.ChunkedArray | pa.Array, dirty: DirtyCounts | None = None
    ) -> None:
        """CSV only: append finished lines (each ending in a newline) as they are.

        The bytes of an Arrow string column are written straight from its data
        buffer, which is much faster than any CSV writer.
        """
        if dirty is not None:
            self.dirty.add(dirty)
        if self._fh.tell() == 0:
            self._fh.write(header.encode("utf-8") + b"\n")
        chunks = lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]
        for arr in chunks:
            if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
                arr = arr.cast(pa.large_string())
            if len(arr) == 0:
                continue
            bufs = arr.buffers()
            off = np.frombuffer(
                bufs[1], np.int64 if pa.types.is_large_string(arr.type) else np.int32
            )
            lo, hi = int(off[arr.offset]), int(off[arr.offset + len(arr)])
            self._fh.write(memoryview(bufs[2])[lo:hi])
            self.rows += len(arr)

    def close(self) -> dict[str, Any]:
        """Finish the file; returns its manifest entry."""
        if self._fh is not None:
            self._fh.close()
        if self.fmt == "parquet":
            if self._pq is None and self._schema is not None:
                self._pq = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            if self._pq is not None:
                self._pq.close()
        d = self.dirty
        return {
            "file": self.path.name,
            "rows": self.rows,
            "expected_rejects": d.bad_dates + d.missing_ids,
            "expected_duplicates": d.duplicates,
            "dirty": d.as_dict(),
        }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest as sorted, indented JSON (UTF-8, trailing newline)."""
    path.write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
