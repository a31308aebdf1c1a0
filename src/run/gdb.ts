import { quoteWords } from '../qemu/shell-words.js';
import { KvmFarmError } from '../util/errors.js';

/** qemu's gdb server on tcp port 1234 (`-s`), CPUs halted until the debugger says continue (`-S`), as kvm.sh --gdb. */
export const GDB_QEMU_ARGS: readonly string[] = ['-s', '-S'];
/** Symbols in vmlinux match the running kernel only without address randomization. */
export const GDB_BOOT_ARGS: readonly string[] = ['nokaslr'];
const GDB_PORT = 1234;

/** A debugger attaches to one guest: --gdb refuses a list that expands to more than one instance. */
export function checkGdbSelection(instanceIds: readonly string[]): void {
  if (instanceIds.length === 1) return;
  throw new KvmFarmError(
    'KVMFARM_BAD_ARGUMENT',
    `--gdb debugs one guest, but --configs gives ${instanceIds.length}: ${instanceIds.slice(0, 10).join(' ')}${instanceIds.length > 10 ? ' ...' : ''}; name one scenario`,
  );
}

/** The command that attaches gdb to the halted guest, with the kernel's symbols. */
export function gdbCommand(vmlinux: string): string {
  return quoteWords(['gdb', vmlinux, '-ex', `target remote :${GDB_PORT}`]);
}

/** The line a --gdb run prints before it waits: which guest, and the exact command. */
export function gdbAttachLine(instance: string, vmlinux: string): string {
  return `--gdb: ${instance} is halted waiting for a debugger; attach with: ${gdbCommand(vmlinux)}  (set breakpoints, then: continue)`;
}
