import type { ResultPromise } from 'execa';

/** How a qemu child ended, as far as the watcher saw it. */
export interface ChildEnd {
  exitCode: number | null;
  signal: string | null;
  /** Set when the process could not be started at all (`ENOENT`). */
  spawnError: string | null;
}

/** Settles once the child has ended, never rejects. */
export function childEnded(child: ResultPromise): Promise<ChildEnd> {
  return child.then(
    (result) => {
      const failed = result as { code?: string; originalMessage?: string; exitCode?: number; signal?: string };
      const spawnError = result.exitCode === undefined && !result.signal ? (failed.originalMessage ?? failed.code ?? 'spawn failed') : null;
      return { exitCode: result.exitCode ?? null, signal: result.signal ?? null, spawnError };
    },
    (error: unknown) => ({ exitCode: null, signal: null, spawnError: String((error as Error)?.message ?? error) }),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

/**
 * SIGTERM, then SIGKILL after `termGraceMs` (0: SIGKILL at once), then wait at most
 * `reapMs` for the exit: a vCPU spinning inside the host kernel can hold the process
 * for a while after SIGKILL, and nothing here may wait forever.
 */
export async function stopChild(
  child: ResultPromise,
  ended: Promise<ChildEnd>,
  termGraceMs: number,
  reapMs = 10_000,
): Promise<boolean> {
  const done = ended.then(() => true);
  if (termGraceMs > 0) {
    child.kill('SIGTERM');
    if (await Promise.race([done, sleep(termGraceMs).then(() => false)])) return true;
  }
  child.kill('SIGKILL');
  return Promise.race([done, sleep(reapMs).then(() => false)]);
}
