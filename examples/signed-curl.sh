#!/usr/bin/env bash
# Sends one Standard Webhooks-signed request with curl and openssl only.
#   WEBHOOK_SECRET=whsec_... ./examples/signed-curl.sh [URL] [BODY]
set -euo pipefail
url=${1:-http://127.0.0.1:3000/incidents/site}
body=${2:-'{"incidentNumbers": ["20210127-198", "20210127-197"], "site": "Security Operations"}'}
: "${WEBHOOK_SECRET:?set WEBHOOK_SECRET to the whsec_... signing secret}"

id="msg_$(date +%s%N)"
ts=$(date +%s)
# The key is the base64 after "whsec_"; the signature is base64(HMAC-SHA256(key, "id.timestamp.body")).
key_hex=$(printf '%s' "${WEBHOOK_SECRET#whsec_}" | base64 -d | od -An -vtx1 | tr -d ' \n')
signature=$(printf '%s' "$id.$ts.$body" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)

curl -sS -X POST "$url" \
  -H 'content-type: application/json' \
  -H "webhook-id: $id" \
  -H "webhook-timestamp: $ts" \
  -H "webhook-signature: v1,$signature" \
  -d "$body"
echo
