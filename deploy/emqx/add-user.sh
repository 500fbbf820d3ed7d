#!/usr/bin/env bash
# Adds (or updates) an MQTT user in EMQX's built-in authentication database through its REST API:
# each device after `edgefleet devices add`, and the control plane's own account once.
#
#   EMQX_API=http://localhost:18083 EMQX_API_KEY=... EMQX_API_SECRET=... \
#     deploy/emqx/add-user.sh press-line-7 "$DEVICE_SECRET"
#
# The API key and secret are created in the EMQX dashboard (System > API Keys).
set -euo pipefail

die() { printf 'add-user: %s\n' "$*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: add-user.sh USERNAME PASSWORD"
user=$1
password=$2
: "${EMQX_API:=http://localhost:18083}"
if [ -z "${EMQX_API_KEY:-}" ] || [ -z "${EMQX_API_SECRET:-}" ]; then die "set EMQX_API_KEY and EMQX_API_SECRET"; fi
# Device ids are [A-Za-z0-9][A-Za-z0-9._-]*; secrets are base64url. Nothing here needs JSON escaping.
[[ $user =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ ]] || die "invalid username: $user"
[[ $password =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "the password contains characters this script does not escape"

endpoint="$EMQX_API/api/v5/authentication/password_based%3Abuilt_in_database/users"
body=$(printf '{"user_id":"%s","password":"%s"}' "$user" "$password")
status=$(curl -sS -o /dev/null -w '%{http_code}' -u "$EMQX_API_KEY:$EMQX_API_SECRET" \
  -H 'content-type: application/json' -X POST -d "$body" "$endpoint")
case "$status" in
  201) echo "add-user: created $user" ;;
  409)
    # Already there: rotate its password instead.
    status=$(curl -sS -o /dev/null -w '%{http_code}' -u "$EMQX_API_KEY:$EMQX_API_SECRET" \
      -H 'content-type: application/json' -X PUT -d "$(printf '{"password":"%s"}' "$password")" "$endpoint/$user")
    [ "$status" = 200 ] || die "updating $user failed with HTTP $status"
    echo "add-user: updated $user" ;;
  *) die "creating $user failed with HTTP $status" ;;
esac
