"""Per-file limits on small real files built here: measured before a loader opens them, named when exceeded."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import FileTooLarge, UnreadableFile
from qa.ingest import load_bytes
from qa.ingest.limits import FileLimits, check_chars, check_chunks, check_container
from tests import hostile_files
from tests.unit.test_ingest_loaders import make_docx, make_pdf_pages


def test_docx_is_measured_by_what_its_parts_unpack_to(tmp_path: Path) -> None:
    bomb = hostile_files.docx_bomb(tmp_path / "bomb.docx", inflated_bytes=4 * 2**20).read_bytes()
    assert len(bomb) < 64 * 1024
    with pytest.raises(FileTooLarge, match="QA_MAX_DECOMPRESSED_BYTES"):
        check_container(bomb, "bomb.docx", FileLimits(max_decompressed_bytes=2**20))
    check_container(bomb, "bomb.docx", FileLimits(max_decompressed_bytes=8 * 2**20))
    check_container(make_docx(), "report.docx", FileLimits())


def test_pdf_is_measured_by_pages_and_by_the_content_its_pages_draw() -> None:
    shared = hostile_files.pdf_shared_stream(pages=50, stream_bytes=100_000)
    with pytest.raises(FileTooLarge, match="QA_MAX_DECOMPRESSED_BYTES"):
        check_container(shared, "shared.pdf", FileLimits(max_decompressed_bytes=2_000_000))  # 50 × 100 kB drawn
    check_container(shared, "shared.pdf", FileLimits(max_decompressed_bytes=10_000_000))
    with pytest.raises(FileTooLarge, match=r"50 pages; the limit is 40 \(QA_MAX_PAGES\)"):
        check_container(shared, "shared.pdf", FileLimits(max_pages=40))
    check_container(make_pdf_pages([["page one."], ["page two."]]), "ok.pdf", FileLimits(max_pages=2))


def test_damaged_containers_are_left_to_their_loaders() -> None:
    for name, data in (("x.docx", b"PK\x03\x04garbage"), ("x.pdf", b"%PDF-1.4 garbage")):
        check_container(data, name, FileLimits())
        with pytest.raises(UnreadableFile):
            load_bytes(data, name)
    with pytest.raises(UnreadableFile, match=r"broken\.docx: damaged or not a Word document"):
        load_bytes(hostile_files.docx_malformed_xml(), "broken.docx")


def test_characters_and_passages() -> None:
    with pytest.raises(FileTooLarge, match=r"dump\.txt: 1,001 characters of text; the limit is 1,000"):
        check_chars("x" * 1001, "dump.txt", FileLimits(max_chars=1000))
    check_chars("x" * 1000, "dump.txt", FileLimits(max_chars=1000))
    with pytest.raises(FileTooLarge, match="QA_MAX_CHUNKS"):
        check_chunks(11, "dump.txt", FileLimits(max_chunks=10))
