import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** Every entry under `dir` with a hash of its bytes (or link target): equal maps mean an untouched tree. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const relative = path.join(rel, name);
      const full = path.join(dir, relative);
      const stat = lstatSync(full);
      if (stat.isDirectory()) {
        out[`${relative}/`] = 'dir';
        walk(relative);
      } else if (stat.isSymbolicLink()) {
        out[relative] = `-> ${readlinkSync(full)}`;
      } else {
        out[relative] = createHash('sha256').update(readFileSync(full)).digest('hex');
      }
    }
  };
  walk('');
  return out;
}
