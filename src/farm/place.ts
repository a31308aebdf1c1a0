import path from 'node:path';
import { readBzImageBanner } from '../build/kernel-banner.js';
import type { Batch } from '../plan/types.js';
import { formatQemuCmdFile, newBootToken, type BuiltQemuCommand } from '../qemu/index.js';
import { retargetQemuCommand } from '../qemu/retarget.js';
import type { Accel } from '../qemu/types.js';
import { INSTANCE_FILES } from '../rundir/layout.js';
import { writeInside } from '../rundir/safe-write.js';
import type { BlobIndex, Blob } from './blobs.js';
import type { PlacedInstance } from './run-guest-on.js';
import { remoteBlob, remoteInstanceDir, type RemotePaths } from './remote-paths.js';

export interface PlaceInput {
  runDir: string;
  batches: Batch[];
  /** The commands prepareRerun wrote: local kernel and console paths. */
  commands: Map<string, BuiltQemuCommand>;
  accel: Accel;
  /** The host's work area; absent for localhost. */
  paths?: RemotePaths;
  blobs: BlobIndex;
  /** Each instance's attempt number: every attempt gets its own directory on the host, so a late one never mixes with a rerun. */
  attempts?: ReadonlyMap<string, number>;
  /** Boot tokens to keep (a resumed run follows guests started with them); others get a fresh one. */
  tokens?: ReadonlyMap<string, string>;
}

/**
 * Points each instance's command at the host: kernel from the host's store, console
 * in its run directory, the host's accelerator, a fresh boot token. The local
 * qemu-cmd is rewritten with the same token and accelerator but local paths, so
 * kvm-recheck and kvm-again read the run directory as they read a local one.
 */
export async function placeOnHost(input: PlaceInput): Promise<Map<string, PlacedInstance>> {
  const placed = new Map<string, PlacedInstance>();
  for (const batch of input.batches) {
    for (const { id } of batch.instances) {
      const recorded = input.commands.get(id)!;
      const localKernel = valueAfter(recorded.argv, '-kernel')!;
      const token = input.tokens?.get(id) ?? newBootToken();
      // The prepared command's binary is the one kvm-again chose, never a recorded word.
      const qemuBinary = recorded.argv[0]!;
      const local = retargetQemuCommand(recorded, { kernel: localKernel, consoleLog: path.join(input.runDir, id, INSTANCE_FILES.consoleLog), accel: input.accel, token, qemuBinary });
      writeInside(input.runDir, path.join(id, INSTANCE_FILES.qemuCmd), formatQemuCmdFile(local));
      const banner = await readBzImageBanner(localKernel);
      if (!input.paths) {
        placed.set(id, { command: local, ...(banner ? { banner } : {}) });
        continue;
      }
      const needs = await input.blobs.ofCommand(recorded);
      const attempt = input.attempts?.get(id);
      const remoteConsole = path.posix.join(remoteInstanceDir(input.paths, attempt === undefined ? id : `${id}@${attempt}`), INSTANCE_FILES.consoleLog);
      const remote = retargetQemuCommand(recorded, { kernel: remoteBlob(input.paths, needs.get('-kernel')!.hash), consoleLog: remoteConsole, accel: input.accel, token, qemuBinary });
      const initrd = needs.get('-initrd');
      if (initrd) remote.argv[remote.argv.lastIndexOf('-initrd') + 1] = remoteBlob(input.paths, initrd.hash);
      placed.set(id, { command: remote, remoteConsole, ...(banner ? { banner } : {}) });
    }
  }
  return placed;
}

function valueAfter(argv: string[], flag: string): string | undefined {
  const at = argv.lastIndexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
}
