import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { nodeArgsForModule } from '../../src/util/module-worker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('a reader that closes the pipe early', () => {
  it('does not crash kvm-run, which still exits with its own status', async () => {
    const node = nodeArgsForModule(path.join(root, 'test/run/kvm-run-main.ts')).map((a) => `'${a}'`).join(' ');
    // `true` exits at once, so every line kvm-run prints meets a closed pipe.
    const shell = `node ${node} --configs '5*TREE04C 3*UP01' --cpus 8 --dryrun script | true; echo "status=\${PIPESTATUS[0]}" >&2`;
    const result = await execa('bash', ['-c', shell], { cwd: root, reject: false, timeout: 60_000 });
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(result.stderr).toContain('status=0');
  });
});
