// Runs one of the repo's scripts in a child process on this Node, the way a
// user would from the shell, and collects what it printed and its exit code.

import { spawn } from 'node:child_process';

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runScript(
  script: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** Runs a shell snippet in its own process group, which is killed if it outlives `ms`. */
export function runShell(script: string, env: Record<string, string | undefined>, ms = 15_000): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: { ...process.env, ...env }, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGTERM');
      reject(new Error(`shell snippet did not finish: ${stdout}\n${stderr}`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What the shell running a pasted recipe must not bring: the adapter's settings from the test run's environment. */
const ADAPTER_SETTINGS = [
  'WEBHOOK_SECRET',
  'D3_BASE_URL',
  'D3_SECRET_ID',
  'D3_API_KEY',
  'SOURCES',
  'SOURCE_SECRETS',
  'SOURCE_SECRET',
] as const;

/**
 * A docs recipe that starts `npm start &`, waits for it, calls it and stops it
 * with `kill %1`, run as pasted into a fresh shell, on `port` instead of 3000.
 * Job control is on as in an interactive shell, so `kill %1` stops npm start
 * with its children; the traps clean up if the recipe fails.
 */
export function runPastedRecipe(recipe: string, port: number, ms = 20_000): Promise<ScriptRun> {
  const script = `set -m\ntrap 'kill %1 2>/dev/null' EXIT\ntrap 'exit 143' TERM\n${recipe.replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`)}`;
  const clean = Object.fromEntries(ADAPTER_SETTINGS.map((name) => [name, '']));
  return runShell(script, { ...clean, PORT: String(port) }, ms);
}
