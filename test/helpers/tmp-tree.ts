import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Writes an inline map of relative paths to contents into a fresh temporary directory. */
export function makeTree(files: Record<string, string>): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-test-'));
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
