import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * Writes `file` whole or not at all, for the caches that several runs, or several
 * hosts' shipments in one run, may write at once: each writer fills its own temporary
 * file (pid and random suffix) and renames it over `file`, so readers never see half.
 */
export async function replaceFile(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
