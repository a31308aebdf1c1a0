import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { bannerMatches, parseImageVersion, readBzImageBanner } from '../../src/build/kernel-banner.js';
import { makeTree } from '../helpers/tmp-tree.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const banner = parseImageVersion('6.1.192 (root@vm) #1 SMP PREEMPT Sat Nov 21 19:32:17 UTC 2026')!;
const consoleLine =
  '[    0.000000] Linux version 6.1.192 (root@vm) (gcc (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT Sat Nov 21 19:32:17 UTC 2026';

describe('kernel banners', () => {
  it('match the console line of the same build', () => {
    expect(banner).toEqual({ release: '6.1.192', builtBy: '(root@vm)', version: '#1 SMP PREEMPT Sat Nov 21 19:32:17 UTC 2026' });
    expect(bannerMatches(banner, consoleLine)).toBe(true);
  });
  it('do not match another build of the same release', () => {
    expect(bannerMatches(banner, consoleLine.replace('19:32:17', '19:40:02'))).toBe(false);
    expect(bannerMatches(banner, consoleLine.replace('#1 ', '#2 '))).toBe(false);
    expect(bannerMatches(banner, consoleLine.replace('6.1.192', '6.1.191'))).toBe(false);
    expect(bannerMatches(banner, 'no banner here')).toBe(false);
  });
  it('are read from a bzImage setup header', async () => {
    const tree = makeTree({});
    cleanup = tree.remove;
    const image = Buffer.alloc(0x400);
    image.write('HdrS', 0x202, 'latin1');
    image.writeUInt16LE(0x100, 0x20e);
    image.write('6.1.192 (root@vm) #1 SMP PREEMPT Sat Nov 21 19:32:17 UTC 2026\0', 0x300, 'latin1');
    writeFileSync(`${tree.dir}/bzImage`, image);
    writeFileSync(`${tree.dir}/notimage`, Buffer.alloc(0x400));
    expect(await readBzImageBanner(`${tree.dir}/bzImage`)).toEqual(banner);
    expect(await readBzImageBanner(`${tree.dir}/notimage`)).toBeUndefined();
  });
});
