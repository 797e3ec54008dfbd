"""Hostile values print literally, inside the paper, without errors and without the network."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from mppdesk.forms.definitions import Agency, Service
from mppdesk.printing import (
    ChecklistHeader,
    Layout,
    ProxyView,
    RequirementItem,
    render_checklist,
    render_handover,
    render_receipt,
    render_slip,
)
from mppdesk.printing.markup import MAX_VALUE_LENGTH, clean
from mppdesk.printing.samples import sample_handover, sample_receipt, sample_slip
from tests.integration.pdf_inspection import (
    flat_text,
    ink_box,
    joined_text,
    pdf_text,
    reader,
    render_png,
)

LONG_NAME = "Wiryawan" * 62 + "AKHIR"  # 501 characters, no space to break at
MARKUP = '<b>tebal</b> & &amp; &#169; <font color="red">merah</font> <para>'
RTL = "محمد علي שלום"
EMOJI = "Siti 😀 ✓"
CONTROL = "Budi\x00\x07\x1b[31m Santoso\r\nbaris\u202eRLO\u200b"


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_server() -> Iterator[tuple[str, list[str]]]:
    """A real server a fetched <img src> would reach; it records every request."""
    _CountingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/x.png", _CountingHandler.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any outgoing connection during the test is recorded and refused."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network use while printing")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return attempts


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _hostile_receipt(img: str):
    view = sample_receipt(services=3)
    first, second, third = view.services
    return replace(
        view,
        mpp_name=f"MPP {MARKUP}",
        officer=CONTROL,
        applicant_name=LONG_NAME,
        applicant_id="<b>3578031505900003</b>",
        ticket=f"<img src='{img}'/>",
        proxy=ProxyView(RTL, "3578035505920002", basis=EMOJI),
        services=(
            replace(first, service_name=f'<img src="{img}"/> KTP-el', agency_short=MARKUP),
            replace(second, agency_name=LONG_NAME, agency_ref="<ref>&</ref>"),
            replace(
                third,
                received=(RequirementItem(RTL, state="copy"), RequirementItem(EMOJI)),
                missing=(RequirementItem(LONG_NAME, detail=MARKUP, condition=CONTROL),),
            ),
        ),
        data_contact=MARKUP,
    )


def _hostile_documents(img: str) -> dict[str, bytes]:
    receipt = _hostile_receipt(img)
    slip = replace(
        sample_slip(),
        applicant_name=LONG_NAME,
        officer=MARKUP,
        services=tuple(
            replace(
                s, service_name=f'<img src="{img}"/>', missing=(RequirementItem(EMOJI, detail=RTL),)
            )
            for s in sample_slip().services
        ),
    )
    handover = sample_handover(rows=3)
    handover = replace(
        handover,
        agency_name=MARKUP,
        officer=LONG_NAME,
        rows=(
            replace(
                handover.rows[0],
                applicant_name=LONG_NAME,
                documents=(MARKUP, f"<img src='{img}'/>"),
            ),
            replace(handover.rows[1], service_name=RTL + " " + EMOJI, note=CONTROL),
            handover.rows[2],
        ),
    )
    agency = Agency(code="x", name={"id": MARKUP, "en": MARKUP}, short_name="X")
    service = Service.model_validate(
        {
            "id": "s",
            "agency": "x",
            "name": {"id": f'<img src="{img}"/>', "en": "x"},
            "shared_fields": [],
            "requirements": [
                {"id": "r", "kind": "copy", "label": {"id": LONG_NAME, "en": LONG_NAME}},
                {
                    "id": "q",
                    "kind": "original",
                    "label": {"id": RTL, "en": RTL},
                    "note": {"id": EMOJI, "en": EMOJI},
                },
            ],
            "fee": {"amount": 0},
            "sla": {"working_days": 1},
            "product": {"id": MARKUP, "en": MARKUP},
            "not_offered": [{"id": CONTROL, "en": CONTROL}],
            "examples": [{"name": "x", "applicant": {}}],
        }
    )
    docs = {}
    for layout in Layout:
        docs[f"receipt-{layout}"] = render_receipt(receipt, layout)
        docs[f"slip-{layout}"] = render_slip(slip, layout)
        docs[f"checklist-{layout}"] = render_checklist(
            [(agency, service)],
            layout,
            header=ChecklistHeader(mpp_name=LONG_NAME, extra_note=MARKUP),
        )
    docs["handover-a4"] = render_handover(handover)
    return docs


def test_hostile_values_print_literally_and_nothing_touches_the_network(
    image_server: tuple[str, list[str]], no_network: list[object]
) -> None:
    img, hits = image_server
    docs = _hostile_documents(img)

    assert no_network == []  # no connection was even attempted
    assert hits == []
    for name, pdf in docs.items():
        flat, joined = flat_text(pdf), joined_text(pdf)
        assert LONG_NAME in joined, name
        # (a word longer than the line is split at the edge: compare without whitespace)
        assert _squeezed(MARKUP) in _squeezed(flat), name
        assert _squeezed(f'<img src="{img}"/>') in _squeezed(flat) or name == "handover-a4", name
        assert not any(ch < " " and ch != "\n" for ch in pdf_text(pdf)), name
        assert "\u202e" not in pdf_text(pdf) and "\u200b" not in pdf_text(pdf), name


def test_markup_in_every_field_comes_out_as_typed(image_server: tuple[str, list[str]]) -> None:
    img, _ = image_server
    text = flat_text(render_receipt(_hostile_receipt(img), Layout.A4))

    assert f"<img src='{img}'/>" in text  # the ticket
    assert f'<img src="{img}"/> KTP-el' in text
    assert "NIK <b>3578********0003</b>" in text or "<b>3578031505900003</b>" not in text
    assert "Terkirim ke Imigrasi — nomor referensi <ref>&</ref>" in text
    assert "Petugas Budi[31m Santoso barisRLO" in text  # control characters gone, words kept


def test_right_to_left_text_and_emoji_keep_their_characters() -> None:
    view = replace(sample_receipt(services=1), applicant_name=f"{RTL} {EMOJI}")
    text = pdf_text(render_receipt(view))

    assert set(RTL.replace(" ", "")) <= set(text)
    assert "😀" in text  # readable thanks to the corrected ToUnicode map
    assert "✓" in text


@pytest.mark.parametrize("layout", [Layout.THERMAL_80, Layout.THERMAL_58])
def test_long_unbroken_values_wrap_inside_the_printable_width(layout: Layout) -> None:
    pdf = render_receipt(_hostile_receipt("http://127.0.0.1:9/x.png"), layout)
    assert len(reader(pdf).pages) == 1
    [image] = render_png(pdf, dpi=203)
    left, _, right, _ = ink_box(image)
    paper_mm, printable_mm = (80, 72) if layout is Layout.THERMAL_80 else (58, 48)
    margin_px = (paper_mm - printable_mm) / 2 / 25.4 * 203

    assert left >= margin_px - 2
    assert right <= image.width - margin_px + 2


def test_long_values_on_a4_stay_inside_the_page_margins() -> None:
    for pdf in (
        render_receipt(_hostile_receipt("http://127.0.0.1:9/x.png"), Layout.A4),
        render_handover(replace(sample_handover(), officer=LONG_NAME, mpp_name=LONG_NAME)),
    ):
        for image in render_png(pdf, dpi=100):
            left, _, right, _ = ink_box(image)
            margin_px = 18 / 25.4 * 100
            assert left >= margin_px - 2
            assert right <= image.width - margin_px + 2


def test_clean_removes_what_cannot_print_and_bounds_the_length() -> None:
    assert clean("a\x00b\x1bc\u202ed\u200be\tf\ng") == "abcde f g"
    assert clean("<b>&amp;</b>") == "<b>&amp;</b>"
    assert clean(None) == ""
    assert clean("\ud800x") == "x"  # a lone surrogate would break the PDF encoder
    assert len(clean("x" * 5000)) == MAX_VALUE_LENGTH
    assert clean("x" * 5000).endswith("…")
    assert clean(LONG_NAME) == LONG_NAME


def test_reportlab_cannot_fetch_even_when_the_environment_trusts_every_host(
    image_server: tuple[str, list[str]],
) -> None:
    # The documents never hand user text to a Paragraph; this checks the second line of
    # defence. RL_trustedHosts=* would let any Paragraph <img> fetch from anywhere; loading
    # the printing layer takes that trust back.
    img, hits = image_server
    script = textwrap.dedent(
        f"""
        from reportlab import rl_config
        assert rl_config.trustedHosts == ["*"], rl_config.trustedHosts
        import mppdesk.printing.pages
        from reportlab.platypus import Paragraph
        try:
            Paragraph('x <img src="{img}" width="10" height="10"/>').wrap(100, 100)
        except OSError as exc:
            print("refused:", exc)
        """
    )
    env = {**os.environ, "RL_trustedHosts": "*"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and "Cannot open resource" in done.stdout
    assert hits == []
