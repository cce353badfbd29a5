#!/usr/bin/env bash
# Make sure RabbitMQ (with its management plugin), PostgreSQL and Redis run on localhost.
# Installs them from Debian's packages when missing; starts them when stopped.
# Usage: deploy/ensure-services.sh [rabbitmq] [postgresql] [redis]   (default: all three)
set -euo pipefail
wanted=("$@"); [ ${#wanted[@]} -gt 0 ] || wanted=(rabbitmq postgresql redis)
say() { echo "ensure-services: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  say "installing $*"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  say "$what did not come up in ${seconds}s"; return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_rabbitmq() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  if ! port_open 5672; then
    say "starting RabbitMQ"
    as_root rabbitmq-server -detached
    wait_for 90 "RabbitMQ" port_open 5672
  fi
  # nameko's test fixtures create a vhost per test through the management API
  if ! port_open 15672; then
    say "enabling the RabbitMQ management plugin"
    wait_for 60 "rabbitmqctl" as_root rabbitmqctl await_startup
    as_root rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null
    wait_for 60 "RabbitMQ management API" port_open 15672
  fi
}

ensure_postgresql() {
  if ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql
    local hba; hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
    # a fresh install: trust local connections, as on the CI machines
    as_root sed -i -E 's/^(local|host)(\s+all\s+all\s+.*\s)(peer|scram-sha-256|md5)$/\1\2trust/' "$hba"
  fi
  if ! port_open 5432; then
    say "starting PostgreSQL"
    local version; version=$(ls /etc/postgresql | sort -V | tail -1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main restart
    wait_for 60 "PostgreSQL" port_open 5432
  fi
}

# the gateways' shared abuse limits (GATEWAY_REDIS_URL); the tests use database 15
ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  if ! port_open 6379; then
    say "starting Redis"
    as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 >/dev/null
    wait_for 30 "Redis" port_open 6379
  fi
}

for service in "${wanted[@]}"; do "ensure_$service"; done
