// The caller recipes in examples/, by path relative to the repository root.

import { readdirSync } from 'node:fs';

export function exampleFiles(): string[] {
  const directory = new URL('../../examples/', import.meta.url);
  return readdirSync(directory)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => `examples/${name}`);
}
