"""ESC/POS receipts and slips sent to a loopback TCP "printer" and to files, read back as bytes.

The printer is a real socket server on 127.0.0.1 that keeps every byte it receives; the
checks parse the ESC/POS stream (the QR store command ``GS ( k … 1 P 0 DATA`` above all),
so a receipt whose QR held the wrong number, or no cut, fails.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from pathlib import Path

import pytest

from mppdesk.desk.documents import print_receipt
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.printing.escpos import Target, TargetError, parse_target, send
from mppdesk.printing.os_print import PrinterError
from mppdesk.store import repo
from tests.conftest import make_user, run_cli
from tests.integration.test_intake import _three_service_visit

ESC_INIT = b"\x1b@"
BOLD_ON = b"\x1bE\x01"
BOLD_OFF = b"\x1bE\x00"
CUT = re.compile(rb"\x1dV[\x00\x01\x30\x31\x41\x42]")
QR_COMMAND = b"\x1d(k"


class LoopbackPrinter:
    """A network thermal printer on 127.0.0.1: accepts one job, keeps its bytes."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _addr = self.server.accept()
        with conn:
            conn.settimeout(10)
            while chunk := conn.recv(65536):
                self.received += chunk
        self.done.set()

    def close(self) -> None:
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def printer():
    printer = LoopbackPrinter()
    yield printer
    printer.close()


def qr_commands(data: bytes) -> list[tuple[int, bytes]]:
    """Every ``GS ( k pL pH cn fn …`` as (fn, parameters), read by its length bytes."""
    out = []
    at = data.find(QR_COMMAND)
    while at >= 0:
        length = data[at + 3] + 256 * data[at + 4]
        body = data[at + 5 : at + 5 + length]
        assert body[0] == 0x31, "cn 49: the QR code function group"
        out.append((body[1], body[2:]))
        at = data.find(QR_COMMAND, at + 5 + length)
    return out


def qr_contents(data: bytes) -> list[str]:
    stored = [params for fn, params in qr_commands(data) if fn == ord("P")]
    printed = [params for fn, params in qr_commands(data) if fn == ord("Q")]
    assert len(printed) == len(stored), "every stored QR symbol is printed"
    assert all(params[:1] == b"0" for params in stored)  # m = 48
    return [params[1:].decode("ascii") for params in stored]


def _visit(runtime):
    officer = make_user(runtime, "ani", "officer")
    return officer, finalize_visit(runtime, officer, parse_visit(_three_service_visit()))


def test_cli_sends_the_receipt_to_a_tcp_printer(printer, runtime, data_dir):
    _officer, result = _visit(runtime)
    numbers = [s.tracking_number for s in result.submissions]
    sent = run_cli(
        "receipt", result.visit_id, "--to", f"tcp://127.0.0.1:{printer.port}", data_dir=data_dir
    )
    assert sent.returncode == 0, sent.stderr
    assert printer.done.wait(10)
    data = bytes(printer.received)
    assert data.startswith(ESC_INIT)
    for number in numbers:
        assert number.encode() in data
    assert qr_contents(data) == numbers  # one native QR per service, in receipt order
    assert (ord("C"), b"\x06") in qr_commands(data)  # module size for 80 mm
    assert data.count(BOLD_ON) >= len(numbers) and data.count(BOLD_ON) == data.count(BOLD_OFF)
    assert data.index(BOLD_ON) < data.index(BOLD_OFF)
    cuts = CUT.findall(data)
    assert len(cuts) == 1 and data.rstrip(b"\n").endswith(cuts[0])  # one cut, at the end
    assert b"TANDA TERIMA PERMOHONAN" in data and b"DEWI LESTARI" in data
    assert b"3578036801950002" not in data  # the NIK is masked as on the PDF receipt
    with runtime.store.read() as session:
        assert repo.count_audit(session, "receipt.printed", result.visit_id) == 1


def test_slip_to_a_file_by_tracking_number_fits_58mm(runtime, data_dir, tmp_path):
    _officer, result = _visit(runtime)
    number = result.submissions[2].tracking_number
    target = tmp_path / "slip.bin"
    sent = run_cli("slip", number, "--to", f"file:{target}", "--format", "58mm", data_dir=data_dir)
    assert sent.returncode == 0, sent.stderr
    data = target.read_bytes()
    for summary in result.submissions:
        assert summary.tracking_number.encode() in data
    assert CUT.search(data) and BOLD_ON in data
    text_lines = [line for line in data.split(b"\n") if not re.search(rb"[\x00-\x1f]", line)]
    assert text_lines and max(len(line) for line in text_lines) <= 32


def test_reprint_through_escpos_says_salinan(runtime, tmp_path):
    officer, result = _visit(runtime)
    first = print_receipt(runtime, officer, result.visit_id, "80mm", output="escpos")
    again = print_receipt(runtime, officer, result.visit_id, "a4", output="escpos")
    assert b"SALINAN" not in first and b"SALINAN" in again
    assert (ord("C"), b"\x06") in qr_commands(again)  # an A4 desk still prints a roll


def test_unreachable_printer_is_a_message_and_exit_1(runtime, data_dir):
    _officer, result = _visit(runtime)
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    refused = run_cli(
        "receipt", result.visit_id, "--to", f"tcp://127.0.0.1:{port}", data_dir=data_dir
    )
    assert refused.returncode == 1
    assert f"127.0.0.1:{port}" in refused.stderr and "menolak sambungan" in refused.stderr
    assert "Traceback" not in refused.stderr and "DEWI" not in refused.stderr

    no_dir = run_cli(
        "receipt", result.visit_id, "--to", "file:/nonexistent/dir/printer", data_dir=data_dir
    )
    assert no_dir.returncode == 1 and "Traceback" not in no_dir.stderr


@pytest.mark.parametrize(
    "bad",
    ["lpt1:", "http://127.0.0.1:9100", "tcp://", "tcp://127.0.0.1:notaport", "usb:zz:1", "file:"],
)
def test_bad_target_scheme_exits_2(data_dir, bad):
    refused = run_cli("receipt", "K01-261202-0001-W", "--to", bad, data_dir=data_dir)
    assert refused.returncode == 2, refused.stderr
    assert "--to" in refused.stderr and "Traceback" not in refused.stderr


def test_targets_parse():
    assert parse_target("tcp://127.0.0.1") == Target("tcp", host="127.0.0.1", port=9100)
    assert parse_target("tcp://[::1]:9101") == Target("tcp", host="::1", port=9101)
    assert parse_target("file:///dev/usb/lp0") == Target("file", path="/dev/usb/lp0")
    assert parse_target("usb:0x0416:0x5011") == Target("usb", vendor=0x0416, product=0x5011)
    with pytest.raises(TargetError):
        parse_target("tcp://host/path")


def test_a_device_that_takes_nothing_times_out(tmp_path):
    """A FIFO with no reader blocks like a USB printer that is off: bounded, then a message."""
    fifo = tmp_path / "printer"
    os.mkfifo(fifo)
    with pytest.raises(PrinterError, match="tidak menerima data"):
        send(b"\x1b@hello", Target("file", path=str(fifo)), timeout_s=0.3)
    # Unblock the writer left waiting: it then writes to the reader and finishes.
    reader = os.open(fifo, os.O_RDONLY)
    try:
        received = b""
        while chunk := os.read(reader, 1024):
            received += chunk
    finally:
        os.close(reader)
    assert received == b"\x1b@hello"
    Path(fifo).unlink()
