/**
 * Errors a person can act on: a stable code for scripts, a one-line message that
 * names the bad value and, where there is one, the fix. Library code throws these;
 * only src/cli turns them into an exit status and a printed line.
 */
export type KvmFarmErrorCode =
  | 'KVMFARM_BAD_ARGUMENT'
  | 'KVMFARM_UNKNOWN_SCENARIO'
  | 'KVMFARM_SCENARIO_DIR'
  | 'KVMFARM_BAD_FRAGMENT'
  | 'KVMFARM_RUNDIR_EXISTS'
  | 'KVMFARM_NOT_A_RUNDIR'
  | 'KVMFARM_BAD_QEMU_CMD'
  | 'KVMFARM_NO_KERNEL'
  | 'KVMFARM_UNKNOWN_INSTANCE'
  | 'KVMFARM_LINK'
  | 'KVMFARM_NOT_A_KERNEL_TREE'
  | 'KVMFARM_BUILD_SETUP'
  | 'KVMFARM_QEMU_MISSING'
  | 'KVMFARM_HOST_UNREACHABLE'
  | 'KVMFARM_HOST_KEY'
  | 'KVMFARM_QUORUM'
  | 'KVMFARM_HOST_TIMEOUT'
  | 'KVMFARM_UNSAFE_ARCHIVE'
  | 'KVMFARM_UNSAFE_FILE'
  | 'KVMFARM_INTERRUPTED'
  | 'KVMFARM_RUN_LOCKED';

export class KvmFarmError extends Error {
  readonly code: KvmFarmErrorCode;

  constructor(code: KvmFarmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KvmFarmError';
    this.code = code;
  }
}

export function isKvmFarmError(error: unknown): error is KvmFarmError {
  return error instanceof KvmFarmError;
}
