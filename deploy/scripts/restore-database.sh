#!/usr/bin/env bash
# Restore a dump of backup-database.sh, or test that a dump restores (--verify).
#
#   deploy/scripts/restore-database.sh SERVICE DUMP_FILE [TARGET_URL]
#   deploy/scripts/restore-database.sh --verify SERVICE DUMP_FILE [TARGET_URL]
#
# Checks DUMP_FILE against DUMP_FILE.sha256 first. TARGET_URL defaults to <SERVICE>_DATABASE_URL.
# A restore replaces the objects the dump holds (one transaction: all or nothing), then prints
# the Alembic revision the restored schema is at; `kosi db upgrade SERVICE` brings it to head.
# Stop the service first. Restore into an empty database (dropped and created again) unless
# the dump is of the schema the target has: --clean drops only what the dump holds.
# --verify leaves the target alone: it restores into a scratch database <dbname>_restore_check
# on the target's server (the URL's user needs CREATEDB), prints each table's row count in the
# target and in the copy, and drops the copy.
# Exit codes: 0 restored (--verify: every count matches); 1 pg_restore or psql failed;
# 2 usage or configuration error; 3 checksum missing or wrong; 4 --verify: counts differ.
set -euo pipefail
USAGE="usage: $0 SERVICE DUMP_FILE [TARGET_URL]
       $0 --verify SERVICE DUMP_FILE [TARGET_URL]
  SERVICE     catalog | survey | notify
  DUMP_FILE   a dump of backup-database.sh (DUMP_FILE.sha256 beside it)
  TARGET_URL  the database to restore into (default: <SERVICE>_DATABASE_URL)
  --verify    restore into a scratch database <dbname>_restore_check instead, compare
              its row counts with the target's, drop it"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

verify=false
case ${1:-} in -h | --help) usage ;; --verify) verify=true; shift ;; esac
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
service=$1 dump=$2
check_service "$service"
if [ $# -eq 3 ]; then url=$(postgres_url "$3" TARGET_URL); else url=$(service_url "$service"); fi
[ -f "$dump" ] || die 2 "no dump file $dump"

check_sum() {
  [ -f "$dump.sha256" ] || die 3 "$dump.sha256 is missing: refusing to restore an unchecked dump"
  local expected actual
  expected=$(cut -d ' ' -f 1 "$dump.sha256")
  actual=$(sha256sum <"$dump" | cut -d ' ' -f 1)
  [ "$expected" = "$actual" ] || die 3 "$dump does not match its checksum (damaged or changed): not restoring"
}

restore_into() {  # restore_into URL [HINT]
  pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
    --dbname="$1" "$dump" || die 1 "pg_restore failed: nothing of it was committed (one transaction)${2:-}"
}

revision_of() {  # revision_of URL: the Alembic revision (each service's table alembic_version)
  local revision
  revision=$(psql_at "$1" -c "select string_agg(version_num, ',') from alembic_version" 2>/dev/null) ||
    revision="none (no alembic_version table)"
  echo "${revision:-none (alembic_version is empty)}"
}

row_counts() {  # row_counts URL: "schema.table<TAB>rows" per table, sorted
  psql_at "$1" -F $'\t' -c "
    select format('%I.%I', table_schema, table_name),
           (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I.%I',
                                                       table_schema, table_name), false, true, '')))[1]
    from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')" |
    LC_ALL=C sort
}

check_sum
dbname=$(psql_at "$url" -c "select current_database()") || die 1 "cannot connect to the $service database"

if ! $verify; then
  say "restoring $dump into $dbname"
  restore_into "$url" "; an older dump cannot replace a newer schema: restore into an empty database"
  echo "$service: restored $dump; schema at Alembic revision $(revision_of "$url")"
  echo "bring it to the current schema with: kosi db upgrade $service"
  exit 0
fi

# --verify: a scratch database beside the target, same server and user
base=${url%%\?*}
[ "${base##*/}" = "$dbname" ] || die 2 "cannot find the database name '$dbname' at the end of the URL's path"
scratch="${dbname}_restore_check"
scratch_url="${base%/*}/$scratch${url#"$base"}"
drop_scratch() { psql_at "$url" -c "drop database if exists \"$scratch\" with (force)" || true; }
trap drop_scratch EXIT
drop_scratch   # left over from an interrupted check
psql_at "$url" -c "create database \"$scratch\"" || die 1 "cannot create $scratch (the URL's user needs CREATEDB)"

say "restoring $dump into $scratch"
restore_into "$scratch_url"
revision=$(revision_of "$scratch_url")

source_counts=$(row_counts "$url") || die 1 "cannot count the rows of $dbname"
copy_counts=$(row_counts "$scratch_url") || die 1 "cannot count the rows of $scratch"
[ -n "$copy_counts" ] || die 4 "the restored copy has no tables"
status=0
echo "rows per table in $dbname (source) and in its restored copy $scratch (restored):"
printf '%-36s %10s %10s\n' table source restored
while IFS=$'\t' read -r table source copy; do
  mark=""
  [ "$source" = "$copy" ] || { mark="  DIFFERENT"; status=4; }
  printf '%-36s %10s %10s%s\n' "$table" "$source" "$copy" "$mark"
done < <(LC_ALL=C join -t $'\t' -a 1 -a 2 -e missing -o 0,1.2,2.2 <(echo "$source_counts") <(echo "$copy_counts"))

if [ $status -eq 0 ]; then
  echo "$service: $dump restores; every table's row count matches $dbname; schema at Alembic revision $revision"
else
  echo "$service: $dump restores, but row counts differ from $dbname (written to since the dump?)"
fi
exit $status
