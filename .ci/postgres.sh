#!/usr/bin/env bash
# Start a local PostgreSQL for the shared-store tests and print its SQLAlchemy URL.
# Installs Debian's postgresql when missing; creates the role "mppdesk" allowed to create
# the per-test databases.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null
fi
read -r version cluster port status _ <<<"$(pg_lsclusters -h | head -n 1)"
if [ "$status" != "online" ]; then
  pg_ctlcluster "$version" "$cluster" start >&2
fi
su postgres -c "psql -q -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname='mppdesk'\"" | grep -q 1 \
  || su postgres -c "psql -q -p $port -c \"CREATE ROLE mppdesk LOGIN CREATEDB PASSWORD 'mppdesk-test'\"" >&2
echo "postgresql+psycopg://mppdesk:mppdesk-test@127.0.0.1:$port/postgres"
