import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalHost } from '../../src/transport/index.js';
import { BlobIndex } from '../../src/farm/blobs.js';
import { remotePaths } from '../../src/farm/remote-paths.js';
import { listStore, ship, stageShipment } from '../../src/farm/ship.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmfarm-ship-test-'));
  dirs.push(dir);
  return dir;
}

describe('ship', () => {
  it('sends each blob once by content, installs it in the store, and skips what the store holds', async () => {
    const src = tmp();
    const host = new LocalHost();
    const paths = remotePaths(path.join(tmp(), 'remote dir'), 'run 1');
    writeFileSync(path.join(src, 'a'), 'kernel A');
    writeFileSync(path.join(src, 'a-copy'), 'kernel A');
    writeFileSync(path.join(src, 'b'), 'kernel B');
    const index = new BlobIndex();
    const blobs = await Promise.all(['a', 'a-copy', 'b'].map((f) => index.ofFile(path.join(src, f))));
    expect(blobs[0]!.hash).toBe(blobs[1]!.hash);
    const unique = [blobs[0]!, blobs[2]!];
    const staged = stageShipment(unique, await listStore(host, paths));
    dirs.push(staged.dir);
    expect(staged.blobBytes).toBe(16);
    await ship(host, paths, staged, { timeoutMs: 10_000 });
    expect(readdirSync(paths.store).sort()).toEqual(unique.map((b) => b.hash).sort());
    expect(readFileSync(path.join(paths.store, blobs[2]!.hash), 'utf8')).toBe('kernel B');
    expect(readdirSync(paths.incoming)).toEqual([]);

    const again = stageShipment(unique, await listStore(host, paths));
    dirs.push(again.dir);
    expect(again).toMatchObject({ blobBytes: 0, reused: 2 });
    expect(again.entries).toEqual([]);
  });

  it('refuses a blob whose content does not match its name, and keeps it out of the store', async () => {
    const src = tmp();
    const host = new LocalHost();
    const paths = remotePaths(path.join(tmp(), 'r'), 'run');
    writeFileSync(path.join(src, 'k'), 'real');
    const fake = { hash: 'f'.repeat(64), localPath: path.join(src, 'k'), size: 4 };
    const staged = stageShipment([fake], new Set());
    dirs.push(staged.dir);
    await expect(ship(host, paths, staged, { timeoutMs: 10_000 })).rejects.toThrow(`content of ${'f'.repeat(64)} hashes to`);
    expect(readdirSync(paths.store)).toEqual([]);
  });
});
