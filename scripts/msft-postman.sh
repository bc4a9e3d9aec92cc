#!/bin/sh
# Runs Microsoft's "SCIM Tests" Postman collection (AzureAD/SCIMReferenceCode)
# against Roster with newman, after the adaptations scripts/msft-postman-adapt.js
# makes and documents.
#
#   scripts/msft-postman.sh [COLLECTION.json]
#
# With ROSTER_SCIM_URL and ROSTER_SCIM_TOKEN set (e.g. http://127.0.0.1:8080/scim/v2/acme
# and that tenant's token) it tests that server; the tenant must be empty, as
# the collection counts users. Otherwise it builds rosterd and starts it on a
# free loopback port: on the in-memory store using the demo tenant it prints,
# or, with ROSTER_DATABASE_URL set, on that PostgreSQL database with a new
# Ultimate tenant made through the admin API (SAML from testdata/saml/okta.xml,
# a SCIM token).
# newman comes from PATH, else it is installed with npm into a temporary
# directory (nothing is added to the repository). Needs node and npm.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
collection=${1:-"$here/testdata/idp/entra/ms-postman/PostmanCollection.json"}
[ -f "$collection" ] || { echo "msft-postman: no collection at $collection" >&2; exit 2; }

work=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

if command -v newman >/dev/null 2>&1; then
	newman=newman
else
	echo "msft-postman: installing newman into $work (npm)" >&2
	npm install --prefix "$work/npm" --no-audit --no-fund --loglevel=error newman >/dev/null
	newman="$work/npm/node_modules/.bin/newman"
fi

if [ -z "${ROSTER_SCIM_URL:-}" ]; then
	(cd "$here" && go build -o "$work/rosterd" ./cmd/rosterd)
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	admin=$(python3 -c 'import secrets; print("postman-" + secrets.token_urlsafe(24))')
	ROSTER_ADDR="127.0.0.1:$port" ROSTER_LOG_LEVEL=warn ROSTER_ADMIN_TOKEN="$admin" \
		"$work/rosterd" >"$work/banner" 2>"$work/rosterd.log" &
	pid=$!
	i=0
	until grep -q '^listening on' "$work/banner" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "msft-postman: rosterd did not start:" >&2; cat "$work/rosterd.log" >&2; exit 1; }
		sleep 0.1
	done
	if [ -z "${ROSTER_DATABASE_URL:-}" ]; then
		ROSTER_SCIM_URL=$(sed -n 's/^ *SCIM base URL: *//p' "$work/banner" | sed 's:/$::')
		ROSTER_SCIM_TOKEN=$(sed -n 's/^ *SCIM token: *//p' "$work/banner")
	else
		tenant="postman$(date +%s)"
		api="http://127.0.0.1:$port/admin/v1/tenants"
		curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
			-d "{\"id\":\"$tenant\",\"name\":\"Postman run\",\"plan\":\"ultimate\",\"seats\":50}" "$api" >/dev/null
		curl -fsS -X PUT -H "Authorization: Bearer $admin" -H 'Content-Type: application/xml' \
			--data-binary @"$here/testdata/saml/okta.xml" "$api/$tenant/saml" >/dev/null
		ROSTER_SCIM_TOKEN=$(curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
			-d '{"name":"postman"}' "$api/$tenant/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
		ROSTER_SCIM_URL="http://127.0.0.1:$port/scim/v2/$tenant"
	fi
fi

# Split the SCIM base URL into the collection's variables:
# {{Protocol}}://{{Server}}{{Port}}/{{Api}}/Users
proto=${ROSTER_SCIM_URL%%://*}
rest=${ROSTER_SCIM_URL#*://}
hostport=${rest%%/*}
api=${rest#*/}
host=${hostport%%:*}
port=""
[ "$host" = "$hostport" ] || port=":${hostport#*:}"

node "$here/scripts/msft-postman-adapt.js" "$collection" >"$work/collection.json"
"$newman" run "$work/collection.json" \
	--env-var "Protocol=$proto" --env-var "Server=$host" --env-var "Port=$port" \
	--env-var "Api=$api" --env-var "token=$ROSTER_SCIM_TOKEN" \
	--reporters cli --color off
