"""The desk's words in Bahasa Indonesia and English, and Indonesian dates and Rupiah.

A small dict catalog instead of Qt's .ts/.qm files: the desk has a few hundred strings, the
catalog's own labels already come in both languages (``Text.id`` / ``Text.en``), and one
Python table keeps the two side by side for review. ``tr(key)`` answers in the current
language; ``set_language`` switches it (the window rebuilds its pages after a switch).

Dates and money use babel with the ``id_ID`` locale in both languages' number style, because
a Rupiah amount is written ``Rp150.000`` on every Indonesian document; babel is imported on
first use so the login screen does not pay for it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

log = logging.getLogger(__name__)

LANGUAGES = ("id", "en")
_language = "id"

# key: (Bahasa Indonesia, English). "&" marks the mnemonic (Alt+letter).
TEXTS: dict[str, tuple[str, str]] = {
    # application
    "app.title": ("MPP Desk", "MPP Desk"),
    "app.opening": ("Membuka data desk…", "Opening the desk's data…"),
    "app.open_failed": ("Data desk tidak dapat dibuka", "The desk's data cannot be opened"),
    "app.error_detail": (
        "Pekerjaan di latar belakang gagal: {message}",
        "A background task failed: {message}",
    ),
    # login
    "login.heading": ("Masuk", "Sign in"),
    "login.subtitle": ("Loket {desk} · {mpp}", "Desk {desk} · {mpp}"),
    "login.username": ("&Nama pengguna", "&User name"),
    "login.password": ("&Kata sandi", "&Password"),
    "login.submit": ("&Masuk", "&Sign in"),
    "login.checking": ("Memeriksa…", "Checking…"),
    "login.empty": (
        "Isi nama pengguna dan kata sandi.",
        "Enter your user name and password.",
    ),
    "login.wrong": (
        "Nama pengguna atau kata sandi salah. Periksa tombol Caps Lock dan coba lagi. "
        "Setelah beberapa kali salah, akun dikunci sementara.",
        "Wrong user name or password. Check Caps Lock and try again. "
        "After several failures the account is locked for a while.",
    ),
    "login.locked": (
        "Akun ini dikunci sementara karena terlalu banyak percobaan gagal. "
        "Coba lagi setelah pukul {until}, atau minta admin memeriksa akun Anda.",
        "This account is locked for a while after too many failed attempts. "
        "Try again after {until}, or ask an admin to check your account.",
    ),
    "login.demo_accounts": ("Akun demo", "Demo accounts"),
    "login.demo_hint": (
        "Klik dua kali sebuah akun untuk mengisinya.",
        "Double-click an account to fill it in.",
    ),
    "login.role.officer": ("Petugas", "Officer"),
    "login.role.supervisor": ("Supervisor", "Supervisor"),
    "login.role.admin": ("Admin", "Admin"),
    "setup.heading": ("Penyiapan pertama", "First-run set-up"),
    "setup.explain": (
        "Belum ada pengguna di desk ini. Buat akun admin pertama; admin lalu dapat "
        "menambah petugas dan supervisor.",
        "This desk has no users yet. Create the first admin account; the admin can then "
        "add officers and supervisors.",
    ),
    "setup.full_name": ("Nama &lengkap", "&Full name"),
    "setup.repeat": ("&Ulangi kata sandi", "&Repeat password"),
    "setup.submit": ("&Buat admin dan masuk", "&Create admin and sign in"),
    "setup.mismatch": ("Kedua kata sandi tidak sama.", "The two passwords differ."),
    # lock
    "lock.heading": ("Layar terkunci", "Screen locked"),
    "lock.explain": (
        "Desk dikunci setelah {minutes} menit tidak dipakai. Kunjungan yang sedang "
        "berjalan tetap tersimpan. Masukkan kata sandi {user} untuk membuka.",
        "The desk locked after {minutes} minutes without use. The visit in progress is "
        "kept. Enter {user}'s password to unlock.",
    ),
    "lock.explain_idle": (
        "Desk dikunci karena tidak dipakai. Kunjungan yang sedang berjalan tetap tersimpan. "
        "Masukkan kata sandi {user} untuk membuka.",
        "The desk locked itself after a while without use. The visit in progress is kept. "
        "Enter {user}'s password to unlock.",
    ),
    "lock.explain_manual": (
        "Desk dikunci. Kunjungan yang sedang berjalan tetap tersimpan. Masukkan kata "
        "sandi {user} untuk membuka.",
        "The desk is locked. The visit in progress is kept. Enter {user}'s password to unlock.",
    ),
    "lock.unlock": ("&Buka kunci", "&Unlock"),
    "lock.switch": ("&Ganti pengguna", "&Switch user"),
    # menus
    "menu.visit": ("&Kunjungan", "&Visit"),
    "menu.submissions": ("&Permohonan", "&Submissions"),
    "menu.admin": ("A&dmin", "A&dmin"),
    "menu.view": ("&Tampilan", "Vie&w"),
    "menu.help": ("&Bantuan", "&Help"),
    "action.next_ticket": ("&Panggil berikutnya", "Call &next ticket"),
    "action.new_visit": ("Kunjungan &baru", "&New visit"),
    "action.find_nik": ("&Cari NIK", "&Find NIK"),
    "action.add_service": ("&Tambah layanan…", "&Add service…"),
    "action.finalize": ("&Selesaikan kunjungan", "&Finalize visit"),
    "action.discard": ("&Buang draf kunjungan", "&Discard visit draft"),
    "action.lock": ("&Kunci layar", "&Lock screen"),
    "action.logout": ("Kel&uar akun", "Sign &out"),
    "action.quit": ("&Tutup aplikasi", "&Quit"),
    "action.intake": ("&Loket (kunjungan)", "&Counter (visit)"),
    "action.submissions": ("&Daftar permohonan", "Submission &list"),
    "action.dashboard": ("&Ringkasan & reviu", "&Dashboard & review"),
    "action.collection": ("&Pengambilan produk", "Product &collection"),
    "action.users": ("&Pengguna…", "&Users…"),
    "action.settings": ("Pe&ngaturan…", "&Settings…"),
    "action.lang_id": ("Bahasa &Indonesia", "Bahasa &Indonesia"),
    "action.lang_en": ("&English", "&English"),
    "action.shortcuts": ("&Pintasan keyboard", "&Keyboard shortcuts"),
    "action.prev_step": ("Langkah se&belumnya", "&Previous step"),
    "action.next_step": ("Langkah se&lanjutnya", "Ne&xt step"),
    # visit page
    "visit.ticket": ("A&ntrean", "Tic&ket"),
    "visit.ticket_placeholder": ("mis. A-017", "e.g. A-017"),
    "visit.group": ("Grup", "Group"),
    "visit.call_next": ("Panggil berikutnya", "Call next"),
    "visit.nik": ("N&IK", "N&IK"),
    "visit.nik_placeholder": ("16 digit, ketik atau pindai", "16 digits, type or scan"),
    "visit.lookup": ("Ca&ri", "&Look up"),
    "visit.looking_up": ("Mencari pemohon…", "Looking up the applicant…"),
    "visit.found": (
        "Pemohon terdaftar: {name}. Data bersama sudah diisi; periksa dan perbarui bila berubah.",
        "Known applicant: {name}. Shared data is filled in; check it and update what changed.",
    ),
    "visit.not_found": (
        "NIK {nik} belum terdaftar di desk ini: pemohon baru. Isi data bersama sekali saja.",
        "NIK {nik} is not known at this desk: a new applicant. Shared data is typed once.",
    ),
    "visit.nik_bad": ("NIK harus 16 digit angka.", "A NIK is 16 digits."),
    "visit.changes_heading": ("Perubahan data sebelumnya", "Earlier changes to this record"),
    "visit.change_line": (
        "{day}: {field} “{old}” → “{new}” (oleh {officer})",
        "{day}: {field} “{old}” → “{new}” (by {officer})",
    ),
    "visit.no_changes": ("Belum ada perubahan tercatat.", "No recorded changes yet."),
    "visit.changed_now": (
        "Berubah dari data tersimpan (sebelumnya: {old})",
        "Changed from the stored record (was: {old})",
    ),
    "visit.proxy": ("Diwakili k&uasa", "Acting through a &proxy"),
    "visit.proxy.nama": ("Nama kuasa", "Proxy's name"),
    "visit.proxy.nik": ("NIK kuasa", "Proxy's NIK"),
    "visit.proxy.hubungan": ("Hubungan dengan pemohon", "Relation to the applicant"),
    "visit.proxy.no_hp": ("Nomor HP kuasa", "Proxy's mobile number"),
    "visit.proxy.no_surat_kuasa": ("Nomor surat kuasa", "Power of attorney number"),
    "visit.proxy.required": ("Nama kuasa wajib diisi.", "The proxy's name is required."),
    "visit.steps": ("Langkah", "Steps"),
    "visit.step.applicant": ("Pemohon", "Applicant"),
    "visit.step.summary": ("Ringkasan", "Summary"),
    "visit.add_service": ("Tambah layanan", "Add service"),
    "visit.remove_service": ("Hapus layanan ini", "Remove this service"),
    "visit.applicant_heading": ("Data pemohon (data bersama)", "Applicant (shared data)"),
    "visit.applicant_explain": (
        "Diisi sekali untuk semua layanan dalam kunjungan ini.",
        "Typed once for every service of this visit.",
    ),
    "visit.no_services": (
        "Belum ada layanan. Tekan F4 untuk mencari layanan dari semua instansi.",
        "No service yet. Press F4 to search the services of every agency.",
    ),
    "visit.status_no_services": ("Belum ada layanan — tekan F4", "No service yet — press F4"),
    "visit.service_fields_none": (
        "Layanan ini tidak memerlukan isian tambahan selain data pemohon.",
        "This service needs nothing beyond the applicant's data.",
    ),
    "visit.requirements": ("Persyaratan", "Requirements"),
    "visit.requirements_hint": (
        "Centang berkas yang diserahkan (Spasi). Yang tidak dicentang masuk slip "
        "berkas belum lengkap.",
        "Tick what was handed over (Space). What stays unticked goes on the incomplete-files slip.",
    ),
    "visit.attachments": ("Lampiran", "Attachments"),
    "visit.attach": ("La&mpirkan berkas…", "Attach fil&e…"),
    "visit.attach_remove": ("Hapus lampiran", "Remove attachment"),
    "visit.attach_title": ("Pilih berkas lampiran", "Choose attachment files"),
    "visit.attach_too_big": (
        "{name} terlalu besar ({size}); maksimal 20 MB.",
        "{name} is too large ({size}); at most 20 MB.",
    ),
    "visit.attach_failed": ("{name} tidak dapat dibaca: {error}", "Cannot read {name}: {error}"),
    "visit.no_attachments": ("Belum ada lampiran.", "No attachments yet."),
    "visit.fee": ("Biaya", "Fee"),
    "visit.fee_assessed": ("sesuai penetapan instansi", "as assessed by the agency"),
    "visit.fee_free": ("Gratis", "Free"),
    "visit.sla_due": ("Perkiraan selesai", "Expected by"),
    "visit.sla_same_day": ("hari ini", "today"),
    "visit.summary_heading": ("Ringkasan kunjungan", "Visit summary"),
    "visit.summary_ticket": ("Antrean {ticket}", "Ticket {ticket}"),
    "visit.summary_no_ticket": ("tanpa nomor antrean", "no ticket number"),
    "visit.summary_applicant": ("Pemohon", "Applicant"),
    "visit.summary_proxy": ("Kuasa", "Proxy"),
    "visit.summary_missing": ("Berkas belum lengkap", "Missing files"),
    "visit.summary_service": ("Layanan", "Service"),
    "visit.summary_complete": ("Berkas lengkap", "Files complete"),
    "visit.summary_errors": ("{count} isian perlu diperbaiki", "Entries to fix: {count}"),
    "visit.summary_ok": ("Siap diselesaikan", "Ready to finalize"),
    "visit.summary_warnings": ("{count} peringatan", "{count} warnings"),
    "visit.summary_total": ("Total biaya", "Total fee"),
    "visit.errors_heading": (
        "Perbaiki dulu isian berikut (Enter membuka isian):",
        "Fix these entries first (Enter opens the entry):",
    ),
    "visit.finalize": ("&Selesaikan", "&Finalize"),
    "visit.finalizing": ("Menyimpan kunjungan…", "Saving the visit…"),
    "visit.finalize_blocked": (
        "Kunjungan belum dapat diselesaikan: {count} isian perlu diperbaiki.",
        "The visit cannot be finalized yet. Entries to fix: {count}.",
    ),
    "visit.finalize_no_service": ("Tambahkan minimal satu layanan.", "Add at least one service."),
    "visit.prev": ("◀ Sebelumnya", "◀ Previous"),
    "visit.next": ("Selanjutnya ▶", "Next ▶"),
    "visit.draft_saved": ("Draf tersimpan {time}", "Draft saved {time}"),
    "visit.draft_restored": (
        "Kunjungan yang belum selesai dipulihkan dari draf ({time}).",
        "An unfinished visit was restored from its draft ({time}).",
    ),
    "visit.discard_confirm": (
        "Buang kunjungan ini? Semua isian yang belum diselesaikan akan hilang.",
        "Discard this visit? Everything not yet finalized is lost.",
    ),
    "visit.new_confirm": (
        "Kunjungan yang sedang berjalan belum selesai. Buang dan mulai kunjungan baru?",
        "The current visit is not finalized. Discard it and start a new one?",
    ),
    "visit.required_marker": ("wajib", "required"),
    # field widgets
    "field.choose": ("— pilih —", "— choose —"),
    "field.yes": ("Ya", "Yes"),
    "field.no": ("Tidak", "No"),
    "field.date_placeholder": ("HH-BB-TTTT", "DD-MM-YYYY"),
    "field.time_placeholder": ("JJ:MM", "HH:MM"),
    "field.money_placeholder": ("Rp", "Rp"),
    "field.computed": ("dihitung otomatis", "computed"),
    "field.add_row": ("Tambah baris", "Add row"),
    "field.remove_row": ("Hapus", "Remove"),
    "field.row": ("Baris {n}", "Row {n}"),
    "field.choose_file": ("Pilih berkas…", "Choose file…"),
    "region.search": ("Cari nama wilayah…", "Search a region name…"),
    "region.province": ("Provinsi", "Province"),
    "region.regency": ("Kabupaten/kota", "Regency/city"),
    "region.district": ("Kecamatan", "District"),
    "region.village": ("Desa/kelurahan", "Village"),
    # service search
    "search.title": ("Tambah layanan", "Add a service"),
    "search.placeholder": (
        "Cari layanan, instansi atau kata kunci (mis. ktp, paspor, bpjs)…",
        "Search a service, agency or keyword (e.g. ktp, passport, bpjs)…",
    ),
    "search.recent": ("baru dipakai", "recent"),
    "search.popular": ("{count}× 30 hari", "{count}× in 30 days"),
    "search.none": ("Tidak ada layanan yang cocok.", "No matching service."),
    "search.already": ("sudah ada dalam kunjungan", "already in this visit"),
    "search.hint": (
        "↑↓ memilih · Enter menambah · Esc menutup",
        "↑↓ choose · Enter adds · Esc closes",
    ),
    # finalize result and printing
    "done.heading": ("Kunjungan selesai", "Visit finalized"),
    "done.line": (
        "{service} — nomor permohonan {tracking}",
        "{service} — tracking number {tracking}",
    ),
    "done.state.queued": ("diterima – menunggu pengiriman", "received – waiting to be sent"),
    "done.state.held": ("menunggu persetujuan supervisor", "waiting for a supervisor's approval"),
    "done.missing": (
        "Berkas belum lengkap: {items}. Slip berkas belum lengkap ikut dicetak.",
        "Missing files: {items}. The incomplete-files slip is printed too.",
    ),
    "done.next": (
        "Tekan F2 untuk memanggil antrean berikutnya.",
        "Press F2 to call the next ticket.",
    ),
    "done.print_receipt": ("Cetak tanda terima", "Print receipt"),
    "done.print_slip": ("Cetak slip berkas belum lengkap", "Print missing-files slip"),
    "done.survey": ("Survei kepuasan", "Satisfaction survey"),
    "done.new_visit": ("Kunjungan baru (F2)", "New visit (F2)"),
    "preview.title": ("Pratinjau cetak", "Print preview"),
    "preview.receipt": ("Tanda terima", "Receipt"),
    "preview.slip": ("Berkas belum lengkap", "Missing files"),
    "preview.rendering": ("Menyiapkan dokumen…", "Preparing the document…"),
    "preview.failed": (
        "Dokumen tidak dapat dibuat: {error}",
        "The document cannot be made: {error}",
    ),
    "preview.page": ("Halaman {n} dari {total}", "Page {n} of {total}"),
    "preview.printed": ("Dikirim ke printer {printer}.", "Sent to printer {printer}."),
    # printing to the desk's named printer ([printing] receipt_printer) and scanned input
    "print.choose": ("Pilih printer…", "Choose printer…"),
    "print.unknown": (
        "Printer '{printer}' tidak ditemukan di komputer ini. Dokumen tetap di pratinjau: "
        "periksa printer lalu cetak ulang (Ctrl+P), atau pilih printer lain.",
        "Printer '{printer}' is not known on this computer. The document stays in the "
        "preview: check the printer and print again (Ctrl+P), or choose another printer.",
    ),
    "print.offline": (
        "Printer '{printer}' sedang bermasalah atau dihentikan. Dokumen tetap di pratinjau: "
        "periksa printer lalu cetak ulang (Ctrl+P), atau pilih printer lain.",
        "Printer '{printer}' has a problem or is stopped. The document stays in the "
        "preview: check the printer and print again (Ctrl+P), or choose another printer.",
    ),
    "print.cannot_open": (
        "Printer '{printer}' tidak dapat dibuka. Dokumen tetap di pratinjau: periksa "
        "printer lalu cetak ulang (Ctrl+P), atau pilih printer lain.",
        "Printer '{printer}' cannot be opened. The document stays in the preview: check "
        "the printer and print again (Ctrl+P), or choose another printer.",
    ),
    "scan.refused": (
        "Hasil pindaian bukan NIK: harus berisi tepat satu NIK 16 digit.",
        "The scan is not a NIK: it must hold exactly one 16-digit NIK.",
    ),
    # admin
    "users.title": ("Pengguna", "Users"),
    "users.role": ("&Peran", "&Role"),
    "users.added": ("Pengguna {user} ditambahkan.", "User {user} added."),
    "settings.title": ("Pengaturan desk", "Desk settings"),
    "settings.language": ("&Bahasa tampilan", "Display &language"),
    "settings.idle": ("Kunci layar setelah (&menit)", "Lock the screen after (&minutes)"),
    "settings.saved": (
        "Pengaturan disimpan.",
        "Settings saved.",
    ),
    "common.cancel": ("Batal", "Cancel"),
    "common.save": ("&Simpan", "&Save"),
    "common.placeholder_page": (
        "Halaman ini sedang disiapkan.",
        "This page is being prepared.",
    ),
    "shortcuts.title": ("Pintasan keyboard", "Keyboard shortcuts"),
    "status.user": ("{name} · {role} · loket {desk}", "{name} · {role} · desk {desk}"),
}


def set_language(lang: str) -> None:
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    _language = lang


def language() -> str:
    return _language


def tr(key: str, **values: Any) -> str:
    """The text of ``key`` in the current language, with ``{name}`` values filled in."""
    pair = TEXTS.get(key)
    if pair is None:
        log.error("missing UI text %r", key)
        return key
    text = pair[1] if _language == "en" else pair[0]
    return text.format(**values) if values else text


def plain(key: str, **values: Any) -> str:
    """Like ``tr`` without the "&" mnemonic markers (for labels that are not buttons)."""
    return tr(key, **values).replace("&&", "\0").replace("&", "").replace("\0", "&")


def text_of(text: Any) -> str:
    """A catalog ``Text`` (or None) in the current language."""
    if text is None:
        return ""
    return text.get(_language)


# --- formats -------------------------------------------------------------------------------


def format_date(day: date | None, long: bool = True) -> str:
    """29 November 2026 (id) / 29 November 2026 (en); short: 29 Nov 2026."""
    if day is None:
        return ""
    from babel.dates import format_date as babel_date

    locale = "id_ID" if _language == "id" else "en_GB"
    return babel_date(day, format="d MMMM y" if long else "d MMM y", locale=locale)


def format_datetime(moment: datetime | None, tz: Any = None) -> str:
    if moment is None:
        return ""
    if tz is not None:
        moment = moment.astimezone(tz)
    return f"{format_date(moment.date(), long=False)} {moment:%H:%M}"


def format_rupiah(amount: int | None) -> str:
    """Rp150.000 — Indonesian grouping in both languages, as on every receipt."""
    if amount is None:
        return tr("visit.fee_assessed")
    if amount == 0:
        return tr("visit.fee_free")
    from babel.numbers import format_decimal

    return "Rp" + format_decimal(amount, format="#,##0", locale="id_ID")


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
