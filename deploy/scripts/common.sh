# shellcheck shell=bash
# Shared by backup-database.sh and restore-database.sh (sourced, not run).
# The calling script sets USAGE before sourcing this file.

# the services with a PostgreSQL database of their own (cli/registry.py: DATABASE_SERVICES)
DATABASE_SERVICES="catalog survey notify"

# no NOTICEs ("… does not exist, skipping") between the script's own messages
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

say() { echo "$(basename "$0"): $*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }   # die EXIT_CODE MESSAGE
usage() { echo "$USAGE" >&2; exit 2; }

check_service() {
  case " $DATABASE_SERVICES " in
    *" $1 "*) ;;
    *) die 2 "unknown service '$1': one of $DATABASE_SERVICES (each has its own database)" ;;
  esac
}

# postgres_url URL VARIABLE_NAME: URL as libpq takes it (SQLAlchemy's postgresql+driver:// → postgresql://).
# Messages name the variable, never the URL (it holds the password).
postgres_url() {
  case $1 in
    sqlite*) die 2 "$2 is a SQLite URL: that is a development database of 'make run' (under var/);" \
                   "back it up by copying the file while the services are stopped" ;;
    postgresql+*://*) echo "postgresql://${1#*://}" ;;
    postgresql://* | postgres://*) echo "$1" ;;
    *) die 2 "$2 is not a postgresql:// URL" ;;
  esac
}

# service_url SERVICE: the database URL of SERVICE from <SERVICE>_DATABASE_URL (its env file sets it)
service_url() {
  local name
  name="$(echo "$1" | tr '[:lower:]' '[:upper:]')_DATABASE_URL"
  [ -n "${!name:-}" ] || die 2 "$name is not set (it is in /etc/kosi/$1.env, see deploy/env/$1.env.example)"
  postgres_url "${!name}" "$name"
}

# psql_at URL ARGS...: psql printing bare values (no headers, no alignment), stopping at the first error
psql_at() { local url=$1; shift; psql -X -q -A -t -v ON_ERROR_STOP=1 --dbname="$url" "$@"; }
