#!/usr/bin/env bash
# One database and one user per service (catalog, survey, notify), each user owning only its
# own database. Run once by the postgres image on an empty data volume
# (/docker-entrypoint-initdb.d: Docker Compose, the Kubernetes dev overlay), or by hand as
# PostgreSQL's superuser against any server:
#   KOSI_DATABASE_PREFIX=kosi KOSI_CATALOG_DB_PASSWORD=… … deploy/kubernetes/components/dependencies/postgres-init.sh
# Idempotent: an existing user gets the password again, an existing database is kept.
set -euo pipefail
prefix="${KOSI_DATABASE_PREFIX:-kosi}"
for service in catalog survey notify; do
    variable="KOSI_${service^^}_DB_PASSWORD"
    password="${!variable:?$variable is not set (kosi deploy secrets writes it to postgres.env)}"
    name="${prefix}_${service}"
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" --dbname postgres \
         -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
ALTER ROLE :"name" WITH LOGIN PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
    echo "postgres-init: database and user $name"
done
