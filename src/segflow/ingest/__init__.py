"""Taking data in: readers, cleaning, merging, rejects; :func:`load_files` is the service."""

from segflow.ingest.files import LoadReport, load_files
from segflow.ingest.loader import LoadSummary, load_file

__all__ = ["LoadReport", "LoadSummary", "load_file", "load_files"]
