#!/usr/bin/env bash
# Sends one Standard Webhooks-signed request with curl and openssl only.
#   WEBHOOK_SECRET=<the SigningSecretArn value, whsec_ optional> ./examples/signed-curl.sh [URL] [BODY]
# URL defaults to npm start's, on PORT or 3000, as for npm run send.
set -euo pipefail
url=${1:-http://127.0.0.1:${PORT:-3000}/incidents/site}
body=${2:-'{"incidentNumbers": ["20210127-198", "20210127-197"], "site": "Security Operations"}'}
: "${WEBHOOK_SECRET:?set WEBHOOK_SECRET to the signing secret: the SigningSecretArn value as stored (README, Deploy, step 4)}"

key=${WEBHOOK_SECRET#whsec_} # the prefix is optional
case $key in
  whsec_*)
    echo 'WEBHOOK_SECRET starts with whsec_whsec_: the prefix is doubled; remove one (the key as stored works as it is)' >&2
    exit 2 ;;
  '' | *[!A-Za-z0-9+/=]*)
    echo 'WEBHOOK_SECRET must be one base64 key, whsec_ optional (during a rotation, one of the stored keys)' >&2
    exit 2 ;;
esac

id="msg_$(date +%s%N)"
ts=$(date +%s)
# The signature is base64(HMAC-SHA256(the decoded key, "id.timestamp.body")).
key_hex=$(printf '%s' "$key" | base64 -d | od -An -vtx1 | tr -d ' \n')
signature=$(printf '%s' "$id.$ts.$body" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)

curl -sS -X POST "$url" \
  -H 'content-type: application/json' \
  -H "webhook-id: $id" \
  -H "webhook-timestamp: $ts" \
  -H "webhook-signature: v1,$signature" \
  -d "$body"
echo
