import type { Accel } from './types.js';

/** What differs between guest architectures, as rcutorture's functions.sh spreads it over several helpers. */
export interface GuestArch {
  name: ArchName;
  /** qemu binary, replaced by --qemu-cmd. */
  qemu: string;
  /** Boot image inside the kernel build directory. */
  bootImage: string;
  /** The guest's console device, for `console=`. */
  console: string;
  /** Machine words (`-machine q35`), per accelerator. */
  machine: (accel: Accel) => string[];
  /** CPU model words, per accelerator; empty leaves qemu's default. */
  cpu: (accel: Accel) => string[];
  /** Boot arguments rcutorture's identify_qemu_append adds for this architecture, before console=. */
  appendDefaults: string[];
  /** Further device words the machine needs (ppc64le wants a vscsi controller with -nodefaults). */
  extraArgs: string[];
}

export type ArchName = 'x86_64' | 'arm64' | 'ppc64le';

export const ARCHES: Readonly<Record<ArchName, GuestArch>> = {
  x86_64: {
    name: 'x86_64',
    qemu: 'qemu-system-x86_64',
    bootImage: 'arch/x86/boot/bzImage',
    console: 'ttyS0',
    machine: () => ['-machine', 'q35'],
    // qemu64 is what the verified TCG boots used; under KVM the host model costs nothing extra.
    cpu: (accel) => ['-cpu', accel === 'kvm' ? 'host' : 'qemu64'],
    appendDefaults: ['selinux=0', 'initcall_debug', 'debug'],
    extraArgs: [],
  },
  arm64: {
    name: 'arm64',
    qemu: 'qemu-system-aarch64',
    bootImage: 'arch/arm64/boot/Image',
    console: 'ttyAMA0',
    machine: (accel) => ['-machine', accel === 'kvm' ? 'virt,gic-version=host' : 'virt'],
    cpu: (accel) => ['-cpu', accel === 'kvm' ? 'host' : 'max'],
    appendDefaults: [],
    extraArgs: [],
  },
  ppc64le: {
    name: 'ppc64le',
    qemu: 'qemu-system-ppc64',
    bootImage: 'vmlinux',
    console: 'hvc0',
    machine: () => ['-machine', 'pseries', '-nodefaults'],
    cpu: (accel) => (accel === 'kvm' ? ['-cpu', 'host'] : []),
    appendDefaults: [],
    extraArgs: ['-device', 'spapr-vscsi'],
  },
};

export function getArch(name: string): GuestArch | undefined {
  return Object.prototype.hasOwnProperty.call(ARCHES, name) ? ARCHES[name as ArchName] : undefined;
}
