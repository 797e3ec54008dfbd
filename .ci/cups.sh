#!/usr/bin/env bash
# CI: a real CUPS print queue for the printing tests. cups-pdf is a virtual printer that
# writes every job as a PDF into a known folder, where the tests read it back (pdftotext).
# Idempotent: safe to run when cupsd already runs or the queue already exists.
set -euo pipefail

QUEUE="${MPPDESK_TEST_CUPS_QUEUE:-MPP-PDF}"
OUT=/var/spool/cups-pdf-test
CONF=/etc/cups/cups-pdf.conf

if ! command -v cupsd >/dev/null 2>&1 || [ ! -f "$CONF" ]; then
  echo "cups.sh: cups or printer-driver-cups-pdf is not installed; the CUPS tests will skip" >&2
  exit 0
fi

mkdir -p "$OUT"
if ! grep -q "^Out $OUT\$" "$CONF"; then
  sed -i "s|^#\?Out .*|Out $OUT|" "$CONF"
fi

if ! lpstat -r 2>/dev/null | grep -q "is running"; then
  cupsd
  for _ in $(seq 1 100); do
    lpstat -r 2>/dev/null | grep -q "is running" && break
    sleep 0.1
  done
fi
lpstat -r | grep -q "is running" || { echo "cups.sh: cupsd did not start" >&2; exit 1; }

if ! lpstat -p "$QUEUE" >/dev/null 2>&1; then
  model="$(lpinfo -m | awk '/CUPS-PDF_opt/ {print $1; exit}')"
  [ -n "$model" ] || model="$(lpinfo -m | awk 'tolower($0) ~ /cups-pdf/ {print $1; exit}')"
  lpadmin -p "$QUEUE" -v cups-pdf:/ -E -m "$model"
fi
lpstat -p "$QUEUE"
