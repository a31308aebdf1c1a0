import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/errors.js';
import { KvmFarmError } from '../../src/util/errors.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('reportError', () => {
  it('prints a KvmFarmError as one printable, bounded line and exits 2', () => {
    const lines: string[] = [];
    const status = reportError('kvm-again', new KvmFarmError('KVMFARM_BAD_ARGUMENT', `bad "\x1b[2J${'x'.repeat(5000)}"\nsecond`), (l) => lines.push(l), tmp);
    expect(status).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\x00-\x1f]/);
    expect(lines[0]!.length).toBeLessThan(1100);
  });

  it('an unexpected error: one line naming a file that holds the stack', () => {
    const lines: string[] = [];
    const status = reportError('kvm-recheck', new TypeError('x.y is not a function'), (l) => lines.push(l), tmp);
    expect(status).toBe(2);
    expect(lines).toHaveLength(1);
    const file = /the details are in (\S+)$/.exec(lines[0]!)?.[1];
    expect(lines[0]).toMatch(/^kvm-recheck: internal error: x\.y is not a function; the details are in /);
    expect(path.dirname(file!)).toBe(tmp);
    expect(readFileSync(file!, 'utf8')).toMatch(/TypeError: x\.y is not a function\n\s+at /);
  });
});
