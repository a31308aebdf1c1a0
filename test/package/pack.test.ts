import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireReal } from '../helpers/require.js';

// The package as a user gets it: `npm pack` here, `npm install` of the tarball in a
// project outside the checkout, then the library through `import('kvm-farm')` and
// the installed bins, on a real kernel and a real guest.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MINUTES = 60_000;
let work: string;
let app: string;
let tarball: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-pack-'));
  app = path.join(work, 'app');
  const packed = await execa('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, timeout: 10 * MINUTES });
  tarball = path.join(work, packed.stdout.trim().split('\n').pop()!);
  cpSync(path.join(root, 'examples'), path.join(app, 'examples'), { recursive: true });
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'uses-kvm-farm', private: true, type: 'module' }));
  await execa('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, timeout: 10 * MINUTES });
}, 20 * MINUTES);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a module in the installing project, where only the installed package is reachable. */
async function inApp(code: string) {
  const file = path.join(app, `check-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, code);
  return execa('node', [file], { cwd: app, reject: false, timeout: 10 * MINUTES });
}

describe('kvm-farm from a packed tarball, installed in another project', () => {
  it('carries the library, bins, scenarios and scripts, and no tests, benches or TypeScript sources', async () => {
    const { stdout } = await execa('tar', ['-tzf', tarball]);
    const files = stdout.split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/src/index.d.ts');
    expect(files).toContain('bin/kvm-run');
    expect(files).toContain('scenarios/rcu/CFLIST');
    expect(files.filter((f) => /^(test|bench|\.ci|src)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('installed kvm-run --help works', async () => {
    const r = await execa(path.join(app, 'node_modules/.bin/kvm-run'), ['--help'], { cwd: app });
    expect(r.stdout).toContain('--configs');
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/--duration Test duration: .* \(default: 30\)/);
  });

  it('import("kvm-farm"): run({ dryrun }) returns the plan; a bad value is a KvmFarmError naming it', async () => {
    const r = await inApp(`
      import { run, DEFAULTS, isKvmFarmError } from 'kvm-farm';
      const plan = await run({ configs: 'UP01-SMALL 2*TREE02C-SMALL', cpus: 4, dryrun: 'batches' });
      let bad;
      try { await run({ durationSeconds: -1, dryrun: 'batches' }); } catch (e) { bad = isKvmFarmError(e) ? e.code + ' ' + e.message : String(e); }
      console.log(JSON.stringify({ batches: plan.batches, text: plan.text, memory: DEFAULTS.memory, bad }));
    `);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.batches.flatMap((b: { instances: { id: string }[] }) => b.instances.map((i) => i.id)).sort()).toEqual(['TREE02C-SMALL', 'TREE02C-SMALL.2', 'UP01-SMALL']);
    expect(out.text).toContain('UP01-SMALL');
    expect(out.memory).toBe('512M');
    expect(out.bad).toMatch(/^KVMFARM_BAD_ARGUMENT --duration -1s/);
  });

});

describe('the installed package on a real kernel and guest', () => {
  const { kernelTree: tree } = requireReal('kernel-tree', 'kernel-build', 'qemu');

  it('runs a real guest with the installed bin, rechecks it through the library, and reruns it with the example script', async () => {
    const results = path.join(work, 'res');
    const first = await execa(path.join(app, 'node_modules/.bin/kvm-run'),
      ['--kernel-dir', tree, '--scenarios', 'bundled', '--configs', 'UP01-SMALL', '--duration', '15s', '--results', results, '--datestamp', 'packed', '--shutdown-grace', '120'],
      { cwd: app, reject: false, timeout: 40 * MINUTES, env: { CI: 'true' } });
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const runDir = path.join(results, 'packed');

    const r = await inApp(`
      import { recheck } from 'kvm-farm';
      const [summary] = await recheck(${JSON.stringify(runDir)});
      console.log(JSON.stringify(summary.instances.map((i) => [i.instance, i.verdict.kind, i.host])));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([['UP01-SMALL', 'pass', 'localhost']]);

    const example = await execa('node', ['examples/rerun-on-hosts.mjs', runDir, 'UP01-SMALL', 'localhost', '15'], { cwd: app, reject: false, timeout: 20 * MINUTES, env: { CI: 'true' } });
    expect(example.exitCode, example.stdout + example.stderr).toBe(0);
    expect(example.stdout).toMatch(/^localhost: \d+ CPUs, (kvm|tcg); ran 1: UP01-SMALL=pass$/m);
  }, 60 * MINUTES);
});
