#!/bin/sh
# The "SCIM over HTTP" run of BENCHMARKS.md, end to end:
#
#   scripts/scim-load.sh            # 1,000,000 users, 32 connections, 10 s per scenario and side
#   USERS=100000 BIG=20000 DUR=3s scripts/scim-load.sh   # a quicker look
#   SCENARIOS=create,get MEM=0 scripts/scim-load.sh        # some PostgreSQL scenarios only
#   SCENARIOS=biglist MEM=0 USERS=20000 BIG=1000 scripts/scim-load.sh
#       # 10 groups × 75,000 members, 4 concurrent GET /Groups?count=1000: peak RSS, time
#   USERS=20000 BIG=1000 SCENARIOS=authflood MEM=0 scripts/scim-load.sh   # the failed-auth flood
#   SCENARIOS=create,webhooks MEM=0 scripts/scim-load.sh  # POST /Users with and without a webhook; events/s delivered
#   WEBHOOK_EVENTS=user.deactivated SCENARIOS=webhooks MEM=0 scripts/scim-load.sh  # an endpoint that wants one type
#   ROSTERD=/path/to/rosterd scripts/scim-load.sh           # measure another build of rosterd
#   SCENARIOS=initialsync scripts/scim-load.sh   # an IdP's first sync on a fresh database, then again once analysed
#   SCENARIOS=initialsync SYNC_USERS=20000 SYNC_GROUPS=200 scripts/scim-load.sh   # a quicker look
#   DURABLE=1 SCENARIOS=create,filter,get,patches MEM=0 scripts/scim-load.sh
#       # PostgreSQL as in production: data on disk, fsync and synchronous_commit on
#
# 1. starts a throwaway PostgreSQL (initdb/pg_ctl from /usr/lib/postgresql/*/bin,
#    as the postgres user when run as root, fsync off, socket and data in a
#    temporary directory under /dev/shm when it exists; with DURABLE=1, data
#    under /var/tmp on disk and PostgreSQL's own durability settings: every
#    commit flushed, as a production database is run);
# 2. builds rosterd and rosterload, seeds USERS users (rosterload seed),
#    starts rosterd on that database and the baselines in a process of their
#    own (rosterload baseline), and runs every scenario (rosterload run) with
#    rosterd's pid for its resident memory;
# 3. starts rosterd on the in-memory store and runs rosterload mem against
#    the bare in-memory server on the same SCIM library.
# The Markdown tables go to stdout; progress and per-round figures to stderr.
set -eu

USERS=${USERS:-1000000}
BIG=${BIG:-100000} # members of the big group
CONNS=${CONNS:-32}
DUR=${DUR:-10s}
ROUNDS=${ROUNDS:-3}
SCENARIOS=${SCENARIOS:-all} # rosterload run -scenario
MEM=${MEM:-1}               # 0: skip the in-memory comparison
SYNC_USERS=${SYNC_USERS:-100000} # initialsync: users, groups, members per group, requests in flight
SYNC_GROUPS=${SYNC_GROUPS:-1000}
SYNC_MEMBERS=${SYNC_MEMBERS:-100}
SYNC_CONNS=${SYNC_CONNS:-16}
here=$(cd "$(dirname "$0")/.." && pwd)

DURABLE=${DURABLE:-0}
parent=/tmp
[ -d /dev/shm ] && parent=/dev/shm
pgopts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [ "$DURABLE" = 1 ]; then
	parent=/var/tmp
	pgopts=""
fi
work=$(mktemp -d "$parent/roster-load-XXXXXX")
pids=""
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] || pgbin=$(dirname "$(command -v pg_ctl)")
as_pg() {
	if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/data/postmaster.pid" ] && as_pg "$pgbin/pg_ctl stop -m immediate -D $work/data" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] && chown postgres "$work"
as_pg "$pgbin/initdb -D $work/data -A trust -U postgres --encoding=UTF8 --locale=C.UTF-8 --no-sync" >"$work/initdb.log" 2>&1
as_pg "$pgbin/pg_ctl start -w -D $work/data -l $work/postgres.log -o \"$pgopts -c listen_addresses='' -k $work -c max_connections=300\"" >/dev/null
as_pg "$pgbin/psql -h $work -U postgres -qc 'create database roster'"
dsn="host=$work user=postgres dbname=roster sslmode=disable"

(cd "$here" && go build -o "$work/rosterd" ./cmd/rosterd && go build -o "$work/rosterload" ./cmd/rosterload)
[ -n "${ROSTERD:-}" ] && cp "$ROSTERD" "$work/rosterd" # another build of rosterd (a before/after comparison)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # file pattern
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 600 ] || { echo "scim-load: timed out waiting for $1" >&2; cat "$1" >&2; exit 1; }
		sleep 0.1
	done
}

if [ "$SCENARIOS" = initialsync ]; then
	# The database stays as migrations leave it: no seeding, no statistics,
	# as at a new install's first sync.
	port=$(free_port)
	ROSTER_ADDR="127.0.0.1:$port" ROSTER_DATABASE_URL="$dsn" ROSTER_ADMIN_TOKEN="$(openssl rand -base64 32)" \
		ROSTER_LOG_LEVEL=warn "$work/rosterd" >"$work/rosterd.out" 2>"$work/rosterd.log" &
	pids="$pids $!"
	wait_for "$work/rosterd.out" '^listening on'
	"$work/rosterload" initialsync -target "http://127.0.0.1:$port" -db "$dsn" -saml-metadata "$here/testdata/saml/okta.xml" \
		-users "$SYNC_USERS" -groups "$SYNC_GROUPS" -members "$SYNC_MEMBERS" -c "$SYNC_CONNS"
	exit 0
fi

echo "== seeding $USERS users" >&2
"$work/rosterload" seed -db "$dsn" -users "$USERS" -big-members "$BIG" -state "$work/state.json" \
	-saml-metadata "$here/testdata/saml/okta.xml" >&2

port=$(free_port)
admin_token=$(openssl rand -base64 32)
# The webhooks scenario's receiver listens on 127.0.0.1.
ROSTER_ADDR="127.0.0.1:$port" ROSTER_DATABASE_URL="$dsn" ROSTER_ADMIN_TOKEN="$admin_token" ROSTER_WEBHOOK_ALLOW_PRIVATE=true \
	ROSTER_LOG_LEVEL=warn "$work/rosterd" >"$work/rosterd.out" 2>"$work/rosterd.log" &
rpid=$!
pids="$pids $rpid"
wait_for "$work/rosterd.out" '^listening on'
bport=$(free_port)
"$work/rosterload" baseline -addr "127.0.0.1:$bport" -db "$dsn" -tenant load >"$work/baseline.out" 2>&1 &
pids="$pids $!"
wait_for "$work/baseline.out" 'listening'

echo "== PostgreSQL: rosterd pid $rpid" >&2
"$work/rosterload" run -target "http://127.0.0.1:$port" -db "$dsn" -state "$work/state.json" -pid "$rpid" \
	-baseline "http://127.0.0.1:$bport" -c "$CONNS" -d "$DUR" -rounds "$ROUNDS" -scenario "$SCENARIOS" -admin-token "$admin_token" \
	-webhook-events "${WEBHOOK_EVENTS:-}"
kill "$rpid"
[ "$MEM" = 0 ] && exit 0

mport=$(free_port)
ROSTER_ADDR="127.0.0.1:$mport" ROSTER_LOG_LEVEL=warn "$work/rosterd" >"$work/mem.out" 2>"$work/mem.log" &
pids="$pids $!"
wait_for "$work/mem.out" '^listening on'
token=$(sed -n 's/^ *SCIM token: *//p' "$work/mem.out")
admin=$(sed -n 's/^ *Admin token: *\([^ ]*\).*/\1/p' "$work/mem.out")
echo "== in-memory store" >&2
"$work/rosterload" mem -target "http://127.0.0.1:$mport" -tenant demo -token "$token" -admin-token "$admin" \
	-baseline "http://127.0.0.1:$bport" -c "$CONNS" -d "$DUR" -rounds "$ROUNDS"
