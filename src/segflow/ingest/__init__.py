"""Taking data in: readers, cleaning, merging, rejects (and, later, identity resolution)."""

from segflow.ingest.loader import LoadSummary, load_file

__all__ = ["LoadSummary", "load_file"]
