#!/usr/bin/env bash
# Back up one service's PostgreSQL database: pg_dump's custom format, a .sha256 beside it.
#
#   deploy/scripts/backup-database.sh SERVICE [OUTPUT_DIR]
#
# SERVICE is catalog, survey or notify; the database URL comes from <SERVICE>_DATABASE_URL
# (as the service's env file sets it). Writes OUTPUT_DIR/<service>-<UTC timestamp>.dump
# (OUTPUT_DIR: default the current directory) and <that>.sha256, readable by the owner only,
# and prints the dump's path on stdout (messages go to stderr).
# Exit codes: 0 written; 1 pg_dump failed; 2 usage or configuration error.
set -euo pipefail
USAGE="usage: $0 SERVICE [OUTPUT_DIR]
  SERVICE     catalog | survey | notify (reads the database URL from <SERVICE>_DATABASE_URL)
  OUTPUT_DIR  where <service>-<UTC timestamp>.dump and its .sha256 go (default: .)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
case $1 in -h | --help) usage ;; esac
service=$1 out_dir=${2:-.}
check_service "$service"
url=$(service_url "$service")

umask 077   # a dump holds personal data (subscribers' addresses, contact details)
mkdir -p "$out_dir"
name="$service-$(date -u +%Y%m%dT%H%M%SZ).dump"
dump="$out_dir/$name"
[ ! -e "$dump" ] || die 1 "$dump exists already"

say "dumping the $service database"
if ! pg_dump --format=custom --no-owner --no-privileges --dbname="$url" --file="$dump.partial"; then
  rm -f "$dump.partial"
  die 1 "pg_dump failed: nothing written"
fi
mv "$dump.partial" "$dump"
(cd "$out_dir" && sha256sum "$name" >"$name.sha256")
echo "$dump"
