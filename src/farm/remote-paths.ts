import path from 'node:path';
import { KvmFarmError } from '../util/errors.js';


/** A host's work area: the kernel store outlives runs, a run's directory does not (unless --keep-remote). */
export interface RemotePaths {
  root: string;
  /** `kernels/<sha256>`: boot images by content, so a later run sends only what is new. */
  store: string;
  /** `runs/<run>/`: one directory per instance (qemu-cmd, console.log). */
  work: string;
  /** Where a tarball's blobs land before their hashes are checked and they move into the store. */
  incoming: string;
}

export function remotePaths(remoteDir: string, runName: string): RemotePaths {
  // posix: the path is the remote host's, whatever this machine is.
  if (!path.posix.isAbsolute(remoteDir)) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--remote-dir "${remoteDir}" must be an absolute path (the host's shell does not expand ~ for us)`);
  }
  const root = path.posix.normalize(remoteDir).replace(/\/+$/, '');
  if (root === '') throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', '--remote-dir "/" would put run directories at the root of the host; name a directory');
  const work = path.posix.join(root, 'runs', runName);
  return { root, store: path.posix.join(root, 'kernels'), work, incoming: path.posix.join(work, 'incoming') };
}

export function remoteInstanceDir(paths: RemotePaths, instance: string): string {
  return path.posix.join(paths.work, instance);
}

export function remoteBlob(paths: RemotePaths, hash: string): string {
  return path.posix.join(paths.store, hash);
}
