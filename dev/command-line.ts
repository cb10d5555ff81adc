// What `npm start` reads from its environment besides the handler's own
// variables (PORT, LOG_FORMAT, D3_SIM_FAULTS), checked all at once so one run
// names every mistake, and the banner it prints once it listens.

import { parseFaultSpec, SIMULATOR_API_KEY, STATE_PATH, type FaultSpec } from './d3-simulator.ts';

/** A reason `npm start` cannot serve, written for the person who typed it. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface CommandLine {
  port: number;
  /** The handler's own JSON logs and EMF metrics, as Lambda writes them, beside the short lines. */
  json: boolean;
  faults: FaultSpec | undefined;
}

type Env = Record<string, string | undefined>;

const DEFAULT_PORT = 3000;
const LOG_FORMATS = ['short', 'json'];

/** npm start's settings, or every problem with them; `warnings` are mistakes it can still start with. */
export function readCommandLine(env: Env): { settings: CommandLine; problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const value = (name: string) => env[name]?.trim() || undefined;

  let port = DEFAULT_PORT;
  const rawPort = value('PORT');
  if (rawPort !== undefined) {
    port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : Number.NaN;
    if (!(port <= 65_535)) problems.push(`PORT must be a whole number from 0 to 65535 (got "${rawPort.slice(0, 20)}"), e.g. PORT=3001 npm start.`);
  }

  const logFormat = value('LOG_FORMAT')?.toLowerCase() ?? 'short';
  if (!LOG_FORMATS.includes(logFormat)) {
    problems.push(`LOG_FORMAT must be "short" (the default: a line per request) or "json" (also the handler's JSON logs and metrics); got "${logFormat.slice(0, 20)}".`);
  }

  const embedded = !value('D3_BASE_URL');
  let faults: FaultSpec | undefined;
  const rawFaults = value('D3_SIM_FAULTS');
  if (rawFaults !== undefined) {
    try {
      faults = parseFaultSpec(rawFaults);
    } catch (error) {
      problems.push((error as Error).message);
    }
    if (!embedded) warnings.push('D3_SIM_FAULTS is ignored: D3_BASE_URL is set, so there is no embedded simulator to inject faults.');
  }

  if (!embedded && !value('D3_API_KEY') && !value('D3_SECRET_ID')) {
    problems.push('D3_BASE_URL is set but no key for that D3: give it in D3_API_KEY, or the name of its credentials secret in AWS Secrets Manager in D3_SECRET_ID.');
  }
  if (value('D3_API_KEY') && value('D3_SECRET_ID')) {
    warnings.push('D3_API_KEY is ignored: D3_SECRET_ID is set, so the D3 credentials are read from AWS Secrets Manager.');
  }
  if (embedded && value('D3_API_KEY') && value('D3_API_KEY') !== SIMULATOR_API_KEY && !value('D3_SECRET_ID')) {
    warnings.push(
      `D3_API_KEY is not the embedded simulator's key ("${SIMULATOR_API_KEY}"): every D3 call will get 401 and the adapter will answer 502. ` +
        'Unset D3_API_KEY, or set D3_BASE_URL to the D3 that key belongs to.',
    );
  }
  if (embedded && value('D3_SECRET_ID')) {
    warnings.push(`The embedded simulator accepts only the key "${SIMULATOR_API_KEY}": unless the secret D3_SECRET_ID holds it, every D3 call will get 401.`);
  }
  if (value('WEBHOOK_SECRET') && value('WEBHOOK_SECRET_ID')) {
    warnings.push('WEBHOOK_SECRET_ID is ignored: WEBHOOK_SECRET is set, and signatures are checked against it.');
  }

  return { settings: { port, json: logFormat === 'json', faults }, problems, warnings };
}

export interface BannerFacts {
  /** http://127.0.0.1:port */
  url: string;
  /** The embedded simulator's base URL, when there is one. */
  simulatorUrl: string | undefined;
  /** Where D3 is otherwise, and where its key comes from. */
  d3BaseUrl: string | undefined;
  d3SecretId: string | undefined;
  /** Whether the handler requires signatures, and where the secret comes from. */
  signedBy: 'WEBHOOK_SECRET' | 'WEBHOOK_SECRET_ID' | undefined;
  settings: CommandLine;
  warnings: string[];
}

const TRY_BODY = '{"incidentNumbers": ["20210127-198", "20210127-197"], "site": "Security Operations"}';

export function banner(facts: BannerFacts): string {
  const endpoint = `${facts.url}/incidents/site`;
  const lines = [`D3 site adapter listening on ${endpoint}`];
  if (facts.simulatorUrl) {
    lines.push(
      `D3 SOAR: the embedded simulator at ${facts.simulatorUrl}`,
      `  its API key: "${SIMULATOR_API_KEY}"; its incidents: every number like 20210127-198 (8 digits, a dash, digits); any other is "not found"`,
      `  where each incident is now, and what it was sent: curl -s ${facts.simulatorUrl}${STATE_PATH}`,
    );
    const faults = facts.settings.faults;
    if (faults) lines.push(`  random faults: ${Math.round(faults.rate * 1000) / 10}% of commands answered ${faults.kinds.join(', ')} (D3_SIM_FAULTS)`);
  } else {
    const key = facts.d3SecretId ? `the secret ${facts.d3SecretId} in AWS Secrets Manager` : 'D3_API_KEY';
    lines.push(`D3 SOAR: ${facts.d3BaseUrl}, with the key from ${key}`);
  }
  lines.push(
    facts.signedBy
      ? `Signatures: required (${facts.signedBy} is set); an unsigned request gets 401.`
      : 'Signatures: not required (set WEBHOOK_SECRET=whsec_... to require them, as the deployed API does).',
    facts.settings.json
      ? 'Logs: a line per request and per D3 command, and the handler\'s JSON logs and metrics (LOG_FORMAT=json).'
      : 'Logs: a line per request and per D3 command; LOG_FORMAT=json npm start adds the handler\'s JSON logs and metrics.',
  );
  for (const warning of facts.warnings) lines.push(`Warning: ${warning}`);
  lines.push('');
  if (facts.signedBy) {
    const secret = facts.signedBy === 'WEBHOOK_SECRET' ? 'the same WEBHOOK_SECRET' : 'WEBHOOK_SECRET set to the secret in WEBHOOK_SECRET_ID';
    lines.push(
      `Try it, from another shell with ${secret} exported:`,
      `  npm run send -- --url ${endpoint} examples/ci-script.json`,
      `  ./examples/signed-curl.sh ${endpoint}`,
    );
  } else {
    lines.push(
      'Try it:',
      `  curl -s -X POST ${endpoint} -H 'content-type: application/json' \\`,
      `    -d '${TRY_BODY}'`,
    );
  }
  lines.push('', 'Ctrl-C stops it.');
  return `${lines.join('\n')}\n`;
}
