// The README's Deploy step 4, run as written with a stand-in for the AWS CLI
// that keeps the secret in a file: reading the signing secret gives the value
// exactly as stored, and a rotation stores keys of the form the stack
// generates (bare base64), so neither ever ends up with whsec_whsec_.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { verifyStandardWebhooks } from '../support/events.ts';
import { parseSigningKeys, signatureHeaders } from '../../scripts/send.ts';

const run = promisify(execFile);
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The ```sh blocks of the README's Deploy step `n`, in order. */
function stepBlocks(n: number): string[] {
  const start = README.indexOf(`**${n}. `);
  const end = README.indexOf(`**${n + 1}. `, start);
  expect(start, `README has a Deploy step ${n}`).toBeGreaterThan(-1);
  return [...README.slice(start, end).matchAll(/```sh\n([\s\S]*?)\n```/g)].map((match) => match[1]!);
}

// `output` and `aws` as the README's commands use them; put-secret-value
// replaces the stored value and logs it, one line per call.
const AWS_STAND_IN = String.raw`
output() { echo "arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhookSigningSecret-AbC123"; }
aws() {
  local value= previous=
  for arg in "$@"; do
    [[ $previous == --secret-string ]] && value=$arg
    previous=$arg
  done
  case "$2" in
    get-secret-value) cat "$STORE" ;;
    put-secret-value) printf '%s' "$value" > "$STORE"; printf '%s\n' "$value" >> "$STORE.log" ;;
    *) echo "unexpected: aws $*" >&2; return 1 ;;
  esac
}
`;

const GENERATED = 'Q7rT2wYp9LmZ4kXc8VbN3sHd6JfG1aEu'; // 32 letters and digits, as Secrets Manager generates it

function storeHolding(value: string): string {
  const store = join(mkdtempSync(join(tmpdir(), 'readme-step4-')), 'secret');
  writeFileSync(store, value);
  writeFileSync(`${store}.log`, '');
  return store;
}

describe('README, Deploy, step 4', () => {
  it('reads the signing secret into WEBHOOK_SECRET exactly as stored, which npm run send and the adapter take', async () => {
    const [read] = stepBlocks(4);
    const store = storeHolding(GENERATED);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', `${AWS_STAND_IN}\n${read}\nprintf '%s' "$WEBHOOK_SECRET"`], {
      env: { ...process.env, STORE: store },
    });
    expect(stdout).toBe(GENERATED);
    expect(parseSigningKeys(stdout)).toEqual([GENERATED]);
    const body = '{"incidentNumbers": ["20210127-198"], "site": "Tier 2"}';
    verifyStandardWebhooks(GENERATED, body, signatureHeaders(stdout, body));
  });

  it('rotates to a bare key of the generated key’s form, through a stored pair both sides accept', async () => {
    const [, rotate] = stepBlocks(4);
    const store = storeHolding(GENERATED);
    await run('bash', ['-euo', 'pipefail', '-c', `${AWS_STAND_IN}\n${rotate}`], { env: { ...process.env, STORE: store } });
    const [pair, alone] = readFileSync(`${store}.log`, 'utf8').trimEnd().split('\n');
    const next = readFileSync(store, 'utf8');
    expect(alone).toBe(next);
    expect(pair).toBe(`${GENERATED} ${next}`);
    expect(next).toMatch(/^[A-Za-z0-9+/]{32}$/); // openssl rand -base64 24: 24 bytes, no prefix
    expect(Buffer.from(next, 'base64')).toHaveLength(24);
    const body = '{"incidentNumbers": ["20210127-198"], "site": "Tier 2"}';
    expect(parseSigningKeys(pair!)).toEqual([GENERATED, next]);
    verifyStandardWebhooks(pair!, body, signatureHeaders(GENERATED, body));
    verifyStandardWebhooks(pair!, body, signatureHeaders(next, body));
    verifyStandardWebhooks(next, body, signatureHeaders(pair!, body));
  });
});
