import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobIndex } from '../../src/farm/blobs.js';
import { makeTree } from '../helpers/tmp-tree.js';

const t = makeTree({ kernel: 'hello', empty: '' });
afterAll(() => t.remove());

describe('BlobIndex', () => {
  it('hashes regular files, the empty one included', async () => {
    const index = new BlobIndex();
    const blob = await index.ofFile(path.join(t.dir, 'kernel'));
    expect(blob).toMatchObject({ hash: createHash('sha256').update('hello').digest('hex'), size: 5 });
    expect((await index.ofFile(path.join(t.dir, 'empty'))).hash).toBe(createHash('sha256').digest('hex'));
  });

  it('refuses a FIFO at once: nothing but regular files is shipped', async () => {
    execFileSync('mkfifo', [path.join(t.dir, 'fifo')]);
    await expect(new BlobIndex().ofFile(path.join(t.dir, 'fifo'))).rejects.toThrow(/fifo is not a regular file; it is not shipped/);
  });
});
