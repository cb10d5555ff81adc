// The named sources from CDK context: `-c sources='<JSON>'`, or
// `-c sourcesFile=<path>` for the same JSON in a file. Each entry is what the
// function's SOURCES holds for that source, less `secretId` (the stack sets
// it), plus where the source's key comes from: `secretArn` or `secretName`
// for an existing secret, neither for one the stack creates. The entries are
// checked with the function's own reader (lambda/sources/registry.ts), so a
// synth refuses exactly what the function would refuse at cold start, and
// names the problem `sources.<name>.<field>`.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_SOURCE, SOURCE_NAME, readSources } from '../lambda/sources/registry.ts';
import type { SchemeName } from '../lambda/sources/scheme.ts';
import { readSecretOrigin, type SecretOrigin } from './secret-origin.ts';

export interface SourceSetting {
  name: string;
  scheme: SchemeName;
  /** Where the source's key is kept. */
  secret: SecretOrigin;
  /** The entry as given, less the CDK-only fields: SOURCES carries it with `secretId` added. */
  entry: Readonly<Record<string, unknown>>;
  /** The name in PascalCase, for the source's CloudFormation outputs (letters and digits only). */
  outputName: string;
  /** `async`: its route goes to the intake, which queues each delivery for the worker (answering 202). */
  mode: 'sync' | 'async';
}

/** Fields the function never sees: the stack turns them into `secretId`. */
const CDK_ONLY_FIELDS = new Set(['secretArn', 'secretName']);

const EXAMPLE = '{"jira": {"scheme": "jira"}}';

/** Any secret id passes the function's check; the stack puts the real one in SOURCES. */
const SECRET_ID_STAND_IN = 'set-by-the-stack';

export function readSourceSettings(inline: unknown, file: unknown, problems: string[]): SourceSetting[] {
  const given = readSourcesObject(inline, file, problems);
  const settings: SourceSetting[] = [];
  for (const [name, entry] of Object.entries(given)) {
    const setting = readSource(name, entry, problems);
    if (setting) settings.push(setting);
  }
  refuseSharedOutputNames(settings, problems);
  return settings;
}

/** The JSON object of sources by name; empty when neither key is given, or when it is refused. */
function readSourcesObject(inline: unknown, file: unknown, problems: string[]): Record<string, unknown> {
  if (inline !== undefined && file !== undefined) {
    problems.push('give sources or sourcesFile, not both');
    return {};
  }
  let key: string;
  let value: unknown;
  if (file !== undefined) {
    if (typeof file !== 'string' || file.trim() === '') {
      problems.push('sourcesFile must be the path of a JSON file, relative to the directory cdk runs in');
      return {};
    }
    key = `sourcesFile ${file.trim()}`;
    try {
      value = readFileSync(resolve(file.trim()), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`${key} could not be read (${code}; paths are relative to ${process.cwd()})`);
      return {};
    }
  } else {
    key = 'sources';
    // cdk.json may hold the object itself; `-c sources=...` always gives text.
    value = inline;
  }
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      const reason = error instanceof SyntaxError ? error.message : 'not JSON';
      // The CDK CLI keeps only the first line of a `-c` value: a pasted multi-line object arrives as "{".
      const oneLine = key === 'sources' ? ' on one line' : '';
      problems.push(`${key} is not valid JSON (${reason}); give an object of sources by name${oneLine}, such as ${EXAMPLE}`);
      return {};
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${key} must be a JSON object of sources by name, such as ${EXAMPLE}`);
    return {};
  }
  return value as Record<string, unknown>;
}

function readSource(name: string, entry: unknown, problems: string[]): SourceSetting | undefined {
  const at = `sources.${name.slice(0, 40)}`;
  // The function's reader names a bad or reserved name in its own words.
  const nameIsValid = SOURCE_NAME.test(name) && name !== DEFAULT_SOURCE;
  if (nameIsValid && (typeof entry !== 'object' || entry === null || Array.isArray(entry))) {
    problems.push(`${at} must be a JSON object such as {"scheme": "github"}`);
    return undefined;
  }

  const before = problems.length;
  let secret: SecretOrigin = { kind: 'create' };
  let forFunction: unknown = entry;
  let kept: Record<string, unknown> = {};
  if (nameIsValid) {
    const fields = entry as Record<string, unknown>;
    kept = Object.fromEntries(Object.entries(fields).filter(([field]) => !CDK_ONLY_FIELDS.has(field)));
    if ('secretId' in kept) {
      problems.push(
        `${at}.secretId is set by the stack: give secretArn or secretName for an existing secret, ` +
          'or neither for the stack to create one',
      );
      delete kept.secretId;
    }
    const keys = { arn: `${at}.secretArn`, name: `${at}.secretName` };
    secret = readSecretOrigin(fields.secretArn, fields.secretName, keys, problems);
    forFunction = { ...kept, secretId: SECRET_ID_STAND_IN };
  }

  // One source at a time, so that the problems come in the order of the sources.
  const fromFunction: string[] = [];
  // The function's own reader; async needs QUEUE_URL, which the stack always sets.
  const parsed = readSources(JSON.stringify(Object.fromEntries([[name, forFunction]])), undefined, fromFunction);
  problems.push(...fromFunction.map((problem) => problem.replace(/^SOURCES\./, 'sources.')));
  const source = parsed.get(name);
  if (!source || problems.length > before) return undefined;
  return { name, scheme: source.scheme, secret, entry: kept, outputName: pascalCase(name), mode: source.mode };
}

/**
 * Output ids are letters and digits, so `a-1b` and `a1b` (or `a--b` and
 * `a-b`) would collide; such a pair is refused rather than one output lost.
 */
function refuseSharedOutputNames(settings: readonly SourceSetting[], problems: string[]): void {
  const byOutputName = new Map<string, string>();
  for (const { name, outputName } of settings) {
    const other = byOutputName.get(outputName);
    if (other === undefined) {
      byOutputName.set(outputName, name);
    } else {
      problems.push(
        `sources.${other} and sources.${name} would share the outputs SourceUrl${outputName} and ` +
          `SourceSecretId${outputName}; rename one`,
      );
    }
  }
}

function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
