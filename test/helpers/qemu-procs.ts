import { readdirSync, readFileSync } from 'node:fs';

/** Polls `check` every 250 ms until it gives a value; fails after `timeoutMs`, so a test never hangs on it. */
export async function waitFor<T>(check: () => T | undefined, o: { timeoutMs: number; what: string }): Promise<T> {
  const until = Date.now() + o.timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`no ${o.what} within ${o.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The argument lists of running processes whose command line mentions `needle`, read from /proc. */
export function processesWith(needle: string): string[][] {
  const found: string[][] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      if (args.some((a) => a.includes(needle)) && /qemu-system-/.test(args[0] ?? '')) found.push(args);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return found;
}

