#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers for the tests: the one at FENNEC_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres), starting the machine's cluster if needed.
set -euo pipefail

url="${FENNEC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
answers() { pg_isready -q -d "$url" 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "PostgreSQL's client tools are missing; installing Debian's postgresql"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y postgresql
fi

answers && exit 0

echo "Starting the machine's PostgreSQL cluster"
for version in $(ls /etc/postgresql 2>/dev/null); do
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
done
for _ in $(seq 1 30); do
  answers && exit 0
  sleep 1
done
echo "PostgreSQL does not answer at $url; set FENNEC_TEST_POSTGRES_URL to a server the tests may use" >&2
exit 1
