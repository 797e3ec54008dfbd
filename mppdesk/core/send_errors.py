"""What a sync error class means, in words an officer (and a citizen on the phone) follows.

The outbox records a short stable class per failed attempt ("timeout", "http_503",
"unauthorized" …, see ``mppdesk.core.sync_policy``); screens and printouts show this instead
of the agency's raw English message.
"""

from __future__ import annotations

_WORDS: dict[str, tuple[str, str]] = {
    "refused": ("server instansi tidak dapat dihubungi", "the agency's server cannot be reached"),
    "reset": ("sambungan ke instansi terputus", "the connection to the agency was cut"),
    "timeout": ("instansi tidak menjawab tepat waktu", "the agency did not answer in time"),
    "tls": ("sambungan aman (TLS) ke instansi gagal", "the secure (TLS) connection failed"),
    "other": ("gangguan jaringan", "network problem"),
    "in_progress": ("instansi masih memproses kiriman sebelumnya",
                    "the agency is still processing the previous attempt"),
    "validation": ("data ditolak instansi — periksa alasannya", "the agency refused the data — see why"),
    "bad_request": ("kiriman ditolak instansi", "the agency refused the request"),
    "unauthorized": ("token instansi ditolak — hubungi supervisor",
                     "the agency refused the token — tell the supervisor"),
    "forbidden": ("token tidak berlaku untuk instansi ini — hubungi supervisor",
                  "the token is not valid for this agency — tell the supervisor"),
    "config": ("instansi belum diatur di pengaturan", "the agency is not configured"),
    "idempotency_conflict": ("instansi punya versi lain permohonan ini — perlu diperiksa supervisor",
                             "the agency holds another version of this request — supervisor check"),
    "conflict": ("konflik data di instansi — perlu diperiksa supervisor",
                 "conflicting data at the agency — supervisor check"),
    "attachment_missing": ("berkas lampiran hilang atau rusak di komputer ini",
                           "an attachment file is missing or damaged on this PC"),
    "paused": ("pengiriman ke instansi ini dijeda", "sending to this agency is paused"),
    "http_429": ("instansi meminta jeda (terlalu banyak kiriman)",
                 "the agency asked to slow down (too many requests)"),
    "http_404": ("alamat server instansi salah — hubungi supervisor",
                 "wrong agency server address — tell the supervisor"),
    # Answers outside the protocol: retried, flagged for a supervisor after too many.
    "not_json": ("jawaban bukan dari instansi (halaman web/login Wi-Fi?) — dicoba lagi",
                 "the answer is not the agency's (a web or Wi-Fi login page?) — retrying"),
    "bad_json": ("jawaban instansi terpotong — dicoba lagi",
                 "the agency's answer was cut off — retrying"),
    "not_object": ("jawaban instansi tidak sesuai protokol — dicoba lagi",
                   "the agency's answer is outside the protocol — retrying"),
    "schema": ("jawaban instansi tidak sesuai protokol — dicoba lagi",
               "the agency's answer is outside the protocol — retrying"),
    "unverified": ("jawaban instansi tidak dapat diperiksa — dicoba lagi",
                   "the agency's answer could not be checked — retrying"),
    "too_large": ("jawaban instansi terlalu besar — dicoba lagi",
                  "the agency's answer is too large — retrying"),
    "other_submission": ("instansi menjawab untuk permohonan lain — dicoba lagi",
                         "the agency answered about another request — retrying"),
    "unknown_status": ("instansi memakai status yang tidak dikenal — dicoba lagi",
                       "the agency used an unknown status word — retrying"),
    "lost_at_agency": ("hilang di instansi — perlu diperiksa supervisor (kirim ulang)",
                       "lost at the agency — supervisor check (send again)"),
    "local_fault": ("berkas lampiran tidak terbaca di komputer ini — pulihkan berkas, lalu kirim ulang",
                    "an attachment file cannot be read on this PC — restore it, then send again"),
    "aborted": ("pengiriman dihentikan — akan dikirim lagi", "sending was stopped — will resend"),
}


def describe_send_error(error_class: str | None, lang: str = "id") -> str:
    """Plain words for an error class; unknown classes keep their code visible."""
    if not error_class:
        return ""
    words = _WORDS.get(error_class)
    if words is None and error_class.startswith("http_5"):
        words = (f"server instansi sedang bermasalah ({error_class[5:]})",
                 f"the agency's server has a problem ({error_class[5:]})")
    if words is None and error_class.startswith("http_"):
        words = (f"instansi menjawab kode {error_class[5:]}",
                 f"the agency answered code {error_class[5:]}")
    if words is None:
        return error_class
    return words[1] if lang == "en" else words[0]
