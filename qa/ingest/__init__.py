"""Load files into cleaned `Document`s: format loaders, boilerplate removal, ids and hashes."""

from qa.ingest.clean import clean_text
from qa.ingest.documents import clean_name, load_bytes, load_file, load_text, make_doc_id
from qa.ingest.files import find_files, find_sources
from qa.ingest.formats import SUPPORTED_SUFFIXES

__all__ = [
    "SUPPORTED_SUFFIXES",
    "clean_name",
    "clean_text",
    "find_files",
    "find_sources",
    "load_bytes",
    "load_file",
    "load_text",
    "make_doc_id",
]
