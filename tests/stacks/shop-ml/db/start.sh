#!/bin/sh
# PostgreSQL for the shop-ml stack, run as the postgres user. On the first
# start it creates the cluster in the volume, the superuser $POSTGRES_USER
# (password $POSTGRES_PASSWORD) and the database $POSTGRES_DB.
set -eu
data=/var/lib/shop-db/data

if [ ! -s "$data/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --pgdata="$data" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$data/pg_hba.conf"
  # Unix socket only while the database is created: the healthcheck (TCP) stays red until the real start.
  pg_ctl --pgdata="$data" --wait --silent -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start
  psql --host=/tmp --username="$POSTGRES_USER" --dbname=postgres --quiet \
    --command="CREATE DATABASE \"$POSTGRES_DB\""
  pg_ctl --pgdata="$data" --wait --silent stop
fi

exec postgres -D "$data" -c listen_addresses='*' -c port=5432 -c unix_socket_directories=/tmp
