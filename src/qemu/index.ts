export * from './types.js';
export { ARCHES, getArch, type ArchName, type GuestArch } from './arch.js';
export { DEFAULT_MEMORY, parseMemory } from './memory.js';
export {
  DEFAULT_SHUTDOWN_GRACE_SECONDS,
  SETTING,
  buildAppend,
  buildQemuCommand,
  consoleLogOf,
  limitCpus,
  newBootToken,
  type BuiltQemuCommand,
  type QemuCommandOptions,
} from './build-command.js';
export { formatQemuCmdFile, parseQemuCmdFile } from './qemu-cmd-file.js';
export { quoteWord, quoteWords, splitShellLine } from './shell-words.js';
export { probeAccel, type AccelProbe, type AccelRequest, type ProbeAccelOptions } from './probe-accel.js';
export { GUEST_FILES, runGuest, type RunGuestOptions } from './run-guest.js';
export { runBatch, type RunBatchOptions } from './run-batch.js';
export { retargetQemuCommand, type RetargetOptions } from './retarget.js';
