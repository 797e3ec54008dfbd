"""The desk's attachment picker reads files through the same desk check as ``mppdesk intake``
(issue 10, item 4): the folder the officer chose is the base; links out of it, FIFOs, devices
and files that are not PDF/JPEG/PNG scans are refused by name, and nothing is attached."""

from __future__ import annotations

import os

from tests.conftest import PASSWORD, make_user
from tests.ui.desk_ui import (
    KNOWN_NIK,
    look_up_nik,
    open_window,
    sign_in_to_visit,
    store_known_applicant,
)


def test_picker_refuses_what_the_officer_did_not_mean(qtbot, runtime, tmp_path):
    officer = make_user(runtime, "ani", "officer")
    store_known_applicant(runtime, officer)
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    look_up_nik(qtbot, page, KNOWN_NIK)
    page.add_service("dukcapil/ikd-aktivasi")
    service_page = page.service_pages[0]

    chosen = tmp_path / "dipilih"
    chosen.mkdir()
    (chosen / "scan.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (chosen / "rahasia.pdf").symlink_to("/etc/shadow")
    os.mkfifo(chosen / "pipa.pdf")
    (chosen / "catatan.pdf").write_text("bukan pindaian\n")
    picked = [chosen / n for n in ("rahasia.pdf", "pipa.pdf", "catatan.pdf", "scan.pdf")]
    page.attach_files(service_page, picked)
    qtbot.waitUntil(lambda: len(service_page.attachments) == 1, timeout=10_000)
    banner = page.banner.text()
    for name in ("rahasia.pdf", "pipa.pdf", "catatan.pdf"):
        assert name in banner, banner
    assert "scan.pdf" not in banner
    attached = page.state.as_json()["services"][0]["attachments"]
    assert [(a["name"], a["content_type"]) for a in attached] == [("scan.pdf", "application/pdf")]
