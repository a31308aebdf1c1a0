import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Every non-directory path under `dir`, relative, in sorted walk order, `.git` left
 * out. Synchronous: on the 6.1 tree (~79k files) it is several times faster than a
 * promise-based walk.
 */
export function walkFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (child !== '.git') walk(child);
      } else {
        files.push(child);
      }
    }
  };
  walk('');
  return files;
}
