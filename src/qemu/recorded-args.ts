import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';
import { ARCHES } from './arch.js';

/**
 * A recorded qemu command comes from a run directory, which may come from anyone.
 * kvm-again and kvm-remote start a qemu binary kvm-farm chose and hand it the
 * recorded words as arguments; these rules say which binary, and which recorded
 * words are refused because they would make qemu run a program, load a plugin,
 * or read or write host files that the run directory names.
 */

/** The qemu binary a rerun starts: --qemu-cmd when given, else the architecture's the recorded command was for. */
export function chooseQemuBinary(recordedFirst: string | undefined, configured?: string): string {
  if (configured) return configured;
  const base = (recordedFirst ?? '').split('/').pop() ?? '';
  const arch = Object.values(ARCHES).find((a) => a.qemu === base);
  if (arch) return arch.qemu;
  const known = Object.values(ARCHES).map((a) => a.qemu).join(', ');
  throw new KvmFarmError(
    'KVMFARM_BAD_QEMU_CMD',
    `recorded qemu-cmd starts with "${printable(recordedFirst ?? '')}", not a qemu kvm-farm knows (${known}); it is never run: name the binary with --qemu-cmd`,
  );
}

/**
 * Options whose value makes qemu run something or open a host path of the
 * recorder's choosing. kvm-farm writes none of them (its console is the one
 * `-serial file:` it rewrites, its kernel the one `-kernel` it replaces).
 */
const REFUSED = new Set([
  '-plugin', '-runas', '-chroot', '-daemonize', '-pidfile', '-D', '-readconfig', '-writeconfig', '-add-fd',
  '-loadvm', '-incoming', '-drive', '-blockdev', '-hda', '-hdb', '-hdc', '-hdd', '-cdrom', '-fda', '-fdb', '-mtdblock',
  '-sd', '-pflash', '-bios', '-L', '-dtb', '-fw_cfg', '-virtfs', '-chardev', '-monitor', '-qmp', '-qmp-pretty', '-mon',
  '-parallel', '-debugcon', '-trace', '-object', '-netdev', '-nic', '-initrd', '-option-rom', '-mem-path',
  '-audiodev', '-spice', '-vnc', '-display', '-semihosting-config', '-acpitable', '-smbios', '-seed',
]);

/** Sub-options that name a host file, socket or program wherever they appear (`-device loader,file=...`, `-machine dumpdtb=...`). */
const PATH_SUBOPTION = /(^|,)(file|filename|path|mem-path|script|downscript|dumpdtb|dtb|firmware|romfile|sock|socket|fd|fds|chardev|drive|smb|tftp|bootfile|logfile)=/;

/** Refuses a recorded command holding a word from {@link REFUSED}, a second console, or networking beyond `-net none`. */
export function checkRecordedArgs(argv: readonly string[], origin: string): void {
  const refuse = (word: string, why: string): never => {
    throw new KvmFarmError('KVMFARM_BAD_QEMU_CMD', `${printable(origin)}: recorded qemu argument "${printable(word)}" ${why}; such a command is not rerun`);
  };
  for (let i = 1; i < argv.length; i++) {
    const raw = argv[i]!;
    // qemu takes --opt as -opt.
    const word = raw.startsWith('--') ? raw.slice(1) : raw;
    if (REFUSED.has(word)) refuse(raw, 'can run programs or open host files');
    if (word === '-net' && argv[i + 1] !== 'none') refuse(`${raw} ${argv[i + 1] ?? ''}`, 'gives the guest a network');
    if (word === '-serial' && !(argv[i + 1] ?? '').startsWith('file:')) refuse(`${raw} ${argv[i + 1] ?? ''}`, 'is not a console file');
    if (PATH_SUBOPTION.test(raw)) refuse(raw, 'names a host file, socket or program');
    // These values are replaced (kernel, console) or are the kernel's own text (append): not qemu options.
    if (word === '-kernel' || word === '-serial' || word === '-append') i++;
  }
  if (argv.filter((w) => w === '-serial' || w === '--serial').length > 1) refuse('-serial', 'appears twice; only one console file is rewritten');
}
