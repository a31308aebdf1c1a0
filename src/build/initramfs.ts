import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { KvmFarmError } from '../util/errors.js';

/**
 * The guest's only program. It sleeps in a loop and spends a little user time each
 * second, as rcutorture's own init does, so that the kernel sees user/kernel
 * transitions. It never exits: the torture test powers the machine off.
 */
const INIT_C = `#include <time.h>
volatile unsigned long spin;
int main(void)
{
\tstruct timespec second = { 1, 0 };
\tfor (;;) {
\t\tnanosleep(&second, 0);
\t\tfor (unsigned long i = 0; i < 100000; i++)
\t\t\tspin = i * i;
\t}
}
`;

/** A built initramfs. */
export interface Initramfs {
  /** The newc cpio (`/init`, `/dev/console`): what CONFIG_INITRAMFS_SOURCE names. */
  cpio: string;
  /** sha256 of the cpio, for the kernel cache key. */
  digest: string;
}

/**
 * Makes the initramfs once per cache root and reuses it: a static `init` (gcc -static)
 * packed with /dev/console into a cpio that kvm-farm writes itself, so neither root nor
 * mknod is needed. Written to a temporary name and renamed, so a killed run leaves none
 * or all of it.
 */
export async function ensureInitramfs(dir: string, cc = 'gcc'): Promise<Initramfs> {
  const cpio = path.join(dir, 'initramfs.cpio');
  if (!existsSync(cpio)) {
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp);
    try {
      await writeFile(path.join(tmp, 'init.c'), INIT_C);
      const init = path.join(tmp, 'init');
      const compile = await execa(cc, ['-static', '-Os', '-s', '-o', init, path.join(tmp, 'init.c')], {
        reject: false,
        all: true,
      });
      if (compile.exitCode !== 0) {
        throw new KvmFarmError(
          'KVMFARM_BUILD_SETUP',
          `cannot build the initramfs's static init with ${cc} -static: ${firstLine(compile.all ?? compile.message)}: install gcc and libc6-dev`,
        );
      }
      await writeFile(path.join(tmp, 'initramfs.cpio'), newcArchive([
        { name: 'dev', mode: 0o040755 },
        { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
        { name: 'init', mode: 0o100755, data: await readFile(init) },
      ]));
      await rename(path.join(tmp, 'initramfs.cpio'), cpio);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const digest = createHash('sha256').update(await readFile(cpio)).digest('hex');
  return { cpio, digest };
}

/** One member of a newc cpio archive. */
export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  name: string;
  /** Full st_mode, type bits included. */
  mode: number;
  /** Device numbers, for device nodes. */
  rdev?: [number, number];
  data?: Buffer;
}

/** A newc ("070701") cpio archive, as the kernel's initramfs unpacker reads it; owner root, mtime 0. */
export function newcArchive(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (buffer: Buffer) => {
    parts.push(buffer);
    offset += buffer.length;
  };
  const pad = () => {
    if (offset % 4 !== 0) push(Buffer.alloc(4 - (offset % 4)));
  };
  const all = [...entries, { name: 'TRAILER!!!', mode: 0 }];
  all.forEach((entry: CpioEntry, index) => {
    const data = entry.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${entry.name}\0`);
    const isTrailer = index === all.length - 1;
    const fields = [
      isTrailer ? 0 : index + 1, // inode
      entry.mode,
      0, // uid
      0, // gid
      (entry.mode & 0o170000) === 0o040000 ? 2 : 1, // nlink
      0, // mtime
      data.length,
      0, // devmajor
      0, // devminor
      entry.rdev?.[0] ?? 0,
      entry.rdev?.[1] ?? 0,
      name.length,
      0, // check
    ];
    push(Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'ascii'));
    push(name);
    pad();
    if (data.length > 0) {
      push(data);
      pad();
    }
  });
  return Buffer.concat(parts);
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '') ?? text;
}
