"""The words on the paper: labels in Bahasa Indonesia and English, and how values read.

Labels are plain text with ``{name}`` slots; the documents escape the result before it
reaches a Paragraph (slots are often filled with user values such as agency names).
Rupiah and dates follow each language's conventions through babel: "Rp350.000" and
"29 November 2026 10.42 WIB" in Indonesian, "Rp350,000" and "29 November 2026, 10:42 WIB"
in English.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from babel.dates import format_date
from babel.numbers import format_decimal

from mppdesk.core.masking import mask_nik
from mppdesk.forms.definitions import Fee, Requirement, RequirementKind, Sla
from mppdesk.printing.views import IdKind, RequirementItem, SendState, ServiceLineView

LANGS = ("id", "en")
_LOCALE = {"id": "id_ID", "en": "en_GB"}

LABELS: dict[str, tuple[str, str]] = {
    # Receipt
    "receipt_title": ("TANDA TERIMA PERMOHONAN", "REQUEST RECEIPT"),
    "desk": ("Loket", "Desk"),
    "ticket": ("No. antrean", "Queue ticket"),
    "officer": ("Petugas", "Officer"),
    "time": ("Waktu", "Time"),
    "applicant": ("Pemohon", "Applicant"),
    "proxy": ("Kuasa", "Proxy"),
    "services_heading": ("Layanan yang dimohon: {n}", "Services requested: {n}"),
    "tracking": ("No. registrasi", "Tracking no."),
    "fee": ("Biaya", "Fee"),
    "free": ("Gratis", "Free"),
    "assessed": ("sesuai penetapan", "as assessed"),
    "due": ("Selesai paling lambat", "Due by"),
    "due_unknown": ("ditentukan instansi", "set by the agency"),
    "received": ("Berkas diterima", "Documents received"),
    "missing": ("Belum diserahkan", "Still missing"),
    "none": ("belum ada", "none"),
    "status": ("Status", "Status"),
    "total": ("Total biaya", "Total fees"),
    "total_plus_assessed": ("{amount} + biaya sesuai penetapan", "{amount} + fees as assessed"),
    "status_help": (
        "Cek status: sebutkan nomor registrasi di meja informasi MPP, atau minta petugas "
        "memindai kode QR.",
        "Check status: give the tracking number at the MPP information desk, or ask the "
        "staff to scan the QR code.",
    ),
    "keep_receipt": (
        "Simpan tanda terima ini untuk mengambil hasil layanan.",
        "Keep this receipt to collect the result.",
    ),
    "notice_title": ("Pelindungan data pribadi", "Personal data protection"),
    "notice_purpose": (
        "Data Anda dipakai hanya untuk memproses permohonan di atas dan hanya dikirim ke "
        "instansi yang memprosesnya (UU No. 27 Tahun 2022 tentang Pelindungan Data Pribadi).",
        "Your data is used only to process the requests above and is sent only to the agency "
        "that processes each one (Law No. 27 of 2022 on Personal Data Protection).",
    ),
    "notice_recipient": ("{agency} menerima: {items}", "{agency} receives: {items}"),
    "notice_form_data": ("data formulir {service}", "the form data of {service}"),
    "notice_ask": (
        "Pertanyaan, koreksi, atau permintaan tentang data Anda: {contact}",
        "Questions, corrections or requests about your data: {contact}",
    ),
    "notice_ask_default": ("petugas di meja informasi MPP", "staff at the MPP information desk"),
    "agency_contact": ("Kontak {agency}: {contact}", "Contact {agency}: {contact}"),
    # Send states
    "send_queued": (
        "Diterima — menunggu pengiriman ke {agency}",
        "Received — waiting to be sent to {agency}",
    ),
    "send_held": (
        "Diterima — menunggu persetujuan supervisor sebelum dikirim ke {agency}",
        "Received — awaiting a supervisor's approval before it is sent to {agency}",
    ),
    "send_sent": ("Terkirim ke {agency}", "Sent to {agency}"),
    "send_sent_ref": (
        "Terkirim ke {agency} — nomor referensi {ref}",
        "Sent to {agency} — reference {ref}",
    ),
    "send_manual": (
        "Diterima — berkas diserahkan langsung ke petugas {agency}",
        "Received — the files are handed to {agency} staff",
    ),
    "send_failed": (
        "Diterima — pengiriman ke {agency} sedang ditindaklanjuti petugas",
        "Received — staff are following up the sending to {agency}",
    ),
    # Copies
    "copy_mark": ("SALINAN", "SALINAN (COPY)"),
    "reprinted": ("Dicetak ulang {when}", "Reprinted {when}"),
    "page": ("Halaman {n}", "Page {n}"),
    "printed": ("Dicetak {when}", "Printed {when}"),
    "printed_label": ("Dicetak", "Printed"),
    # Checklist
    "checklist_title": ("DAFTAR PERSYARATAN LAYANAN", "SERVICE REQUIREMENTS CHECKLIST"),
    "requirements": ("Persyaratan", "Requirements"),
    "no_requirements": ("Tidak ada dokumen yang perlu dibawa.", "No documents to bring."),
    "sla": ("Waktu penyelesaian", "Completion time"),
    "working_days": ("{n} hari kerja", "{n} working days"),
    "working_day": ("{n} hari kerja", "{n} working day"),
    "same_day": ("selesai pada hari yang sama", "the same day"),
    "sla_depends": ("tergantung permohonan", "depends on the request"),
    "fee_depends": ("tergantung pilihan layanan", "depends on the options chosen"),
    "product": ("Produk", "Product"),
    "not_offered": ("Tidak tersedia di MPP ini", "Not available at this MPP"),
    "checklist_footer": (
        "Persyaratan dapat berubah sewaktu-waktu; pastikan kembali di loket.",
        "Requirements may change; please confirm at the counter.",
    ),
    # Requirement qualifiers
    "kind_original": ("asli", "original"),
    "kind_copy": ("fotokopi", "photocopy"),
    "kind_shown": ("asli diperlihatkan lalu dikembalikan", "original shown and returned"),
    "kind_original_and_copy": ("asli diperlihatkan + fotokopi", "original shown + photocopy"),
    "kind_in_person": ("dilakukan di loket", "done at the counter"),
    "kind_digital": ("digital", "digital"),
    "copies": ("{n} lembar", "{n} copies"),
    "duty_stamp": ("bermeterai Rp10.000", "with a Rp10,000 duty stamp"),
    "legalized": ("dilegalisir", "legalised"),
    "optional": ("jika ada", "if any"),
    "only_if": ("hanya jika {condition}", "only if {condition}"),
    # Checklist states of received items
    "state_original": ("asli", "original"),
    "state_copy": ("fotokopi", "copy"),
    "state_shown": ("asli diperlihatkan", "original shown"),
    "state_digital": ("digital", "digital"),
    # Slip
    "slip_title": ("BERKAS BELUM LENGKAP", "INCOMPLETE FILES"),
    "slip_title_complete": ("BERKAS LENGKAP", "FILES COMPLETE"),
    "slip_intro": (
        "Permohonan Anda sudah dicatat. Agar dapat diproses, lengkapi berkas berikut:",
        "Your request is recorded. To have it processed, bring the following:",
    ),
    "slip_complete": (
        "Berkas lengkap: tidak ada yang kurang.",
        "Your files are complete: nothing is missing.",
    ),
    "slip_service_complete": ("Tidak ada yang kurang.", "Nothing missing."),
    "still_missing": ("Yang masih kurang", "Still missing"),
    "conditional_apply": (
        "Persyaratan bersyarat yang berlaku untuk Anda",
        "Conditional requirements that apply to you",
    ),
    "return_by": (
        "Bawa kekurangan berkas ke loket MPP paling lambat {date}, dengan slip ini atau nomor registrasi.",
        "Bring the missing documents to an MPP counter by {date}, with this slip or the tracking number.",
    ),
    "return_any": (
        "Bawa kekurangan berkas ke loket MPP dengan slip ini atau nomor registrasi.",
        "Bring the missing documents to an MPP counter with this slip or the tracking number.",
    ),
    "officer_name": ("Nama petugas", "Officer's name"),
    "initials": ("Paraf", "Initials"),
    # Handover
    "handover_title": ("BERITA ACARA SERAH TERIMA BERKAS", "RECORD OF FILE HANDOVER"),
    "handover_intro": (
        "Pada hari {day}, berkas permohonan di bawah ini diserahkan oleh petugas {mpp} kepada "
        "petugas {agency} untuk diproses.",
        "On {day}, the request files below were handed over by {mpp} staff to {agency} staff "
        "for processing.",
    ),
    "agency": ("Instansi", "Agency"),
    "day": ("Tanggal", "Date"),
    "col_no": ("No", "No"),
    "col_service": ("Layanan", "Service"),
    "col_received": ("Diterima MPP", "Received"),
    "col_documents": ("Berkas", "Files"),
    "col_check": ("Cek", "Check"),
    "handover_count": ("Jumlah permohonan: {n}", "Number of requests: {n}"),
    "handover_empty": (
        "Tidak ada berkas untuk diserahkan pada hari ini.",
        "No files to hand over for this day.",
    ),
    "handed_by": ("Yang menyerahkan", "Handed over by"),
    "received_by": ("Yang menerima", "Received by"),
    "staff_of": ("Petugas {org}", "{org} staff"),
    "name": ("Nama", "Name"),
    "staff_id": ("NIP", "Staff ID"),
    "signature": ("Tanda tangan", "Signature"),
    "date_time": ("Tanggal & jam", "Date & time"),
    # Identity documents
    "id_nik": ("NIK", "NIK"),
    "id_passport": ("No. paspor", "Passport no."),
    "id_kitas": ("No. KITAS", "KITAS no."),
    "id_kitap": ("No. KITAP", "KITAP no."),
}

# Standard Indonesian time zones by UTC offset in hours.
_ZONES = {7: "WIB", 8: "WITA", 9: "WIT"}
_OFFSETS = {name: hours for hours, name in _ZONES.items()}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be 'id' or 'en' (got {lang!r})")
    return lang


def t(key: str, lang: str, **slots: object) -> str:
    """The label ``key`` in ``lang`` with its slots filled (plain text, not escaped)."""
    text = LABELS[key][1 if lang == "en" else 0]
    return text.format(**slots) if slots else text


def rupiah(amount: int, lang: str) -> str:
    return "Rp" + format_decimal(amount, locale=_LOCALE[lang])


def fee_text(amount: int | None, lang: str) -> str:
    if amount is None:
        return t("assessed", lang)
    if amount == 0:
        return t("free", lang)
    return rupiah(amount, lang)


def long_date(day: date, lang: str) -> str:
    return format_date(day, "long", locale=_LOCALE[lang])


def weekday_date(day: date, lang: str) -> str:
    return format_date(day, "EEEE, d MMMM y", locale=_LOCALE[lang])


def local_time(moment: datetime, tz_label: str | None = None) -> datetime:
    """The moment in the install's zone: WIB/WITA/WIT named by ``tz_label`` win over the
    datetime's own offset (a UTC time from the store still prints as counter time)."""
    offset = _OFFSETS.get((tz_label or "").upper())
    if offset is None:
        return moment
    return moment.astimezone(timezone(timedelta(hours=offset)))


def zone_label(moment: datetime, tz_label: str | None = None) -> str:
    """WIB / WITA / WIT from the offset, unless the install names its zone."""
    if tz_label:
        return tz_label
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes % 60 == 0 and minutes // 60 in _ZONES:
        return _ZONES[minutes // 60]
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def date_time(moment: datetime, lang: str, tz_label: str | None = None) -> str:
    """Date and time in the install's zone, with the zone's name."""
    moment = local_time(moment, tz_label)
    separator = ", " if lang == "en" else " "
    return long_date(moment.date(), lang) + separator + time_of_day(moment, lang, tz_label)


def time_of_day(moment: datetime, lang: str, tz_label: str | None = None) -> str:
    """ "10.42 WIB" (Indonesian writes the time with a full stop), "10:42 WIB" in English."""
    moment = local_time(moment, tz_label)
    clock = f"{moment:%H:%M}" if lang == "en" else f"{moment:%H.%M}"
    return f"{clock} {zone_label(moment, tz_label)}"


def mask_identifier(value: str | None, kind: IdKind | str = IdKind.NIK) -> str:
    """An identity number fit for paper: a NIK keeps region and serial, others their end.

    A value that already contains ``*`` is taken as masked by the caller.
    """
    if not value:
        return ""
    value = value.strip()
    if "*" in value:
        return value
    digits = "".join(ch for ch in value if ch.isdigit())
    if str(kind) == IdKind.NIK or (len(digits) == 16 and digits == value):
        return mask_nik(value)
    if len(value) <= 4:
        return "*" * len(value)
    return value[:1] + "*" * (len(value) - 4) + value[-3:]


def id_label(kind: IdKind | str, lang: str) -> str:
    try:
        return t(f"id_{IdKind(kind).value}", lang)
    except ValueError:
        return str(kind)


def send_state_text(line: ServiceLineView, lang: str) -> str:
    state = SendState(line.send_state)
    if state is SendState.SENT and line.agency_ref:
        return t("send_sent_ref", lang, agency=line.agency_short, ref=line.agency_ref)
    return t(f"send_{state.value}", lang, agency=line.agency_short)


def _condition_words(condition: str, lang: str) -> str:
    lowered = condition.strip().lower()
    if lowered.startswith(
        ("hanya ", "jika ", "bila ", "apabila ", "if ", "only ", "when ", "unless ")
    ):
        return condition.strip()
    return t("only_if", lang, condition=condition.strip())


def requirement_detail(requirement: Requirement, lang: str) -> str:
    """The qualifiers of a requirement: original / copy, copies, duty stamp, "if any"."""
    kind = RequirementKind(requirement.kind)
    # A form or a photo says what it is in its label; the others need the words.
    parts = (
        []
        if kind in (RequirementKind.DOCUMENT, RequirementKind.PHOTO)
        else [t(f"kind_{kind.value}", lang)]
    )
    if requirement.copies > 1:
        parts.append(t("copies", lang, n=requirement.copies))
    if requirement.legalized:
        parts.append(t("legalized", lang))
    if requirement.duty_stamp:
        parts.append(t("duty_stamp", lang))
    if requirement.optional:
        parts.append(t("optional", lang))
    return ", ".join(parts)


def requirement_item(
    requirement: Requirement, lang: str, state: str | None = None
) -> RequirementItem:
    """A catalog requirement as a printable line (for receipts and slips the desk builds)."""
    condition = requirement.condition_text.get(lang) if requirement.condition_text else None
    return RequirementItem(
        label=requirement.label.get(lang),
        detail=requirement_detail(requirement, lang),
        condition=condition,
        state=state,
        note=requirement.note.get(lang) if requirement.note else None,
    )


def item_text(item: RequirementItem, lang: str) -> str:
    """One requirement in words: "Fotokopi KK — fotokopi, 2 lembar; hanya jika …. Note."

    A received item shows how it was handed over (its ``state``) instead of the qualifiers.
    """
    text = item.label
    how = item.detail
    key = f"state_{item.state}"
    if key in LABELS:  # handed over; "missing" and "not_applicable" keep the qualifiers
        how = t(key, lang)
    if how:
        text += " — " + how
    if item.condition:
        text += "; " + _condition_words(item.condition, lang)
    if item.note and item.note.strip():
        note = item.note.strip()
        text += ". " + (note if note[-1] in ".!?" else note + ".")
    return text


def catalog_fee_text(fee: Fee, lang: str) -> str:
    if fee.amount is not None:
        text = fee_text(fee.amount, lang)
    elif fee.assessed:
        text = t("assessed", lang)
    else:
        text = t("fee_depends", lang)
    if fee.note is not None:
        text += f" — {fee.note.get(lang)}"
    return text


def sla_text(sla: Sla, lang: str) -> str:
    if sla.working_days is None:
        text = t("sla_depends", lang)
    elif sla.working_days == 0:
        text = t("same_day", lang)
    else:
        key = "working_day" if sla.working_days == 1 else "working_days"
        text = t(key, lang, n=sla.working_days)
    if sla.note is not None:
        text += f" — {sla.note.get(lang)}"
    return text


def total_fee_text(lines: tuple[ServiceLineView, ...], lang: str) -> str:
    known = sum(line.fee for line in lines if line.fee is not None)
    if any(line.fee is None for line in lines):
        if known == 0:
            return t("assessed", lang)
        return t("total_plus_assessed", lang, amount=rupiah(known, lang))
    return fee_text(known, lang)
