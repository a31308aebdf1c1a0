import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PARTS, missingParts } from './require.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('requireReal', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('names only packages that scripts/test.sh installs', () => {
    const installed = readFileSync(path.join(root, 'scripts/packages.txt'), 'utf8')
      .split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean);
    const named = Object.values(PARTS).flat().flatMap((need) => (typeof need === 'object' ? [need.package] : []));
    expect(named.filter((p) => !installed.includes(p))).toEqual([]);
    expect(installed).toContain('linux-source-6.1');
  });

  it('says what is missing in one line each, with the fix', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-require-'));
    try {
      vi.stubEnv('KVM_FARM_KERNEL_DIR', empty);
      vi.stubEnv('PATH', empty);
      expect(missingParts(['kernel-tree', 'qemu'])).toEqual([
        `kernel tree ${empty} not found: run scripts/setup-kernel-tree.sh (apt-get install linux-source-6.1)`,
        'qemu-system-x86_64 not found: apt-get install qemu-system-x86',
      ]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('fails every test in its scope, and never reports one as skipped', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-require-'));
    const report = path.join(empty, 'report.json');
    try {
      const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
      await execa('node', [vitest, 'run', '--config', path.join(root, 'test/helpers/fixtures/vitest.config.ts'),
        '--reporter=json', `--outputFile=${report}`], { env: { KVM_FARM_KERNEL_DIR: empty }, reject: false, timeout: 60_000 });
      const json = JSON.parse(readFileSync(report, 'utf8'));
      expect({ failed: json.numFailedTests, passed: json.numPassedTests, skipped: json.numPendingTests + json.numTodoTests }).toEqual({ failed: 3, passed: 0, skipped: 0 });
      const messages = json.testResults[0].assertionResults.map((t: { failureMessages: string[] }) => t.failureMessages.join('').split('\n')[0]);
      expect(messages).toEqual([
        `Error: kernel tree ${empty} not found: run scripts/setup-kernel-tree.sh (apt-get install linux-source-6.1)`,
        `Error: kernel tree ${empty} not found: run scripts/setup-kernel-tree.sh (apt-get install linux-source-6.1)`,
        'Error: the farm did not start',
      ]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
