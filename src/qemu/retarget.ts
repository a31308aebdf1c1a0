import { KvmFarmError } from '../util/errors.js';
import { ARCHES, type ArchName } from './arch.js';
import { checkRecordedArgs, chooseQemuBinary } from './recorded-args.js';
import { SETTING, newBootToken, type BuiltQemuCommand } from './build-command.js';
import type { Accel, QemuCommand } from './types.js';

export interface RetargetOptions {
  /** The boot image the command should load now. */
  kernel: string;
  /** Where the new guest's console goes. */
  consoleLog: string;
  /** New test duration; the recorded one when absent. */
  seconds?: number;
  /** New TORTURE_SHUTDOWN_GRACE; the recorded one when absent. */
  shutdownGraceSeconds?: number;
  /** Boot arguments appended to the recorded ones (later wins for module parameters). */
  bootArgs?: string[];
  /** Accelerator to run under; the recorded one when absent. */
  accel?: Accel;
  /** Boot token; a fresh random one unless given (tests). */
  token?: string;
  arch?: ArchName;
  /**
   * --qemu-cmd: the qemu binary to run. Without it, the architecture's qemu that
   * the recorded first word names; the recorded word itself is never run.
   */
  qemuBinary?: string;
  /** Where the recorded command came from, for error lines. */
  origin?: string;
}

const TOKEN_ARG = /^kvmfarm\.token=/;
const SHUTDOWN_SECS_ARG = /^([A-Za-z0-9_]+\.shutdown_secs=)\d+$/;

/**
 * An earlier run's qemu command, pointed at a new run directory: new kernel and console
 * paths, a fresh boot token, and, when asked, a new duration, accelerator and extra boot
 * arguments, with the settings lines to match. Everything else stays as recorded, so a
 * rerun boots exactly what ran before (kvm-again.sh's kvm-transform.sh does the same),
 * except the binary: kvm-farm picks that (recorded-args.ts), and refuses recorded
 * words that would run programs or open host files.
 */
export function retargetQemuCommand(recorded: QemuCommand, options: RetargetOptions): BuiltQemuCommand {
  const argv = [...recorded.argv];
  const valueAfter = (flag: string): number => {
    const at = argv.lastIndexOf(flag);
    if (at < 0 || at + 1 >= argv.length) {
      throw new KvmFarmError('KVMFARM_BAD_QEMU_CMD', `qemu-cmd has no "${flag}" argument to rewrite`);
    }
    return at + 1;
  };

  checkRecordedArgs(argv, options.origin ?? 'qemu-cmd');
  argv[0] = chooseQemuBinary(recorded.argv[0], options.qemuBinary);
  argv[valueAfter('-kernel')] = options.kernel;
  const serialAt = argv.findIndex((w, i) => w === '-serial' && argv[i + 1]?.startsWith('file:'));
  if (serialAt < 0) throw new KvmFarmError('KVMFARM_BAD_QEMU_CMD', 'qemu-cmd has no "-serial file:" console to rewrite');
  argv[serialAt + 1] = `file:${options.consoleLog}`;

  const oldAccel = readAccel(recorded);
  const accel = options.accel ?? oldAccel ?? 'tcg';
  if (oldAccel !== undefined && accel !== oldAccel) switchAccel(argv, oldAccel, accel, options.arch ?? 'x86_64');

  const token = options.token ?? newBootToken();
  const appendAt = valueAfter('-append');
  const words = argv[appendAt]!.split(/\s+/).filter((w) => w !== '' && !TOKEN_ARG.test(w));
  const seconds = options.seconds ?? recordedSeconds(recorded);
  const append = words.map((w) => (options.seconds === undefined ? w : w.replace(SHUTDOWN_SECS_ARG, `$1${options.seconds}`)));
  argv[appendAt] = [...append, ...(options.bootArgs ?? []), `kvmfarm.token=${token}`].join(' ');

  const settings: Record<string, string> = { ...recorded.settings };
  if (seconds !== undefined) settings[SETTING.seconds] = String(seconds);
  if (options.shutdownGraceSeconds !== undefined) settings[SETTING.grace] = String(options.shutdownGraceSeconds);
  settings[SETTING.token] = token;
  settings[SETTING.accel] = accel;
  const smp = argv.lastIndexOf('-smp');
  const cpus = Number(settings[SETTING.cpus] ?? (smp >= 0 ? argv[smp + 1] : 1)) || 1;
  return { argv, settings, warnings: [], token, cpus };
}

function readAccel(command: QemuCommand): Accel | undefined {
  const at = command.argv.indexOf('-accel');
  const value = at >= 0 ? command.argv[at + 1] : command.settings[SETTING.accel];
  return value === 'kvm' || value === 'tcg' ? value : undefined;
}

function recordedSeconds(command: QemuCommand): number | undefined {
  const seconds = Number(command.settings[SETTING.seconds]);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/** Swaps the accelerator and the words that depend on it (CPU model, machine options). */
function switchAccel(argv: string[], from: Accel, to: Accel, archName: ArchName): void {
  const arch = ARCHES[archName];
  const at = argv.indexOf('-accel');
  if (at >= 0) argv[at + 1] = to;
  for (const pick of [arch.cpu, arch.machine]) {
    const before = pick(from);
    const after = pick(to);
    if (before.length !== 2 || after.length !== 2) continue;
    const i = argv.findIndex((w, j) => w === before[0] && argv[j + 1] === before[1]);
    if (i >= 0) argv[i + 1] = after[1]!;
  }
}
