/**
 * A 118-byte x86 guest that needs no kernel: a multiboot image (the "a.out kludge"
 * header, so qemu loads it flat at 1 MiB through the same firmware and option-ROM path
 * as a bzImage), whose 32-bit code writes to every page of 16 MiB, prints
 * `kvmfarm-probe-ok` on the first serial port and leaves through qemu's
 * isa-debug-exit device (qemu then exits with status 1).
 */
export const PROBE_OK = 'kvmfarm-probe-ok';
export const PROBE_EXIT_PORT = 0xf4;
/** qemu's exit status when the guest writes 0 to the isa-debug-exit port: (0 << 1) | 1. */
export const PROBE_EXIT_STATUS = 1;

const LOAD = 0x100000;
const ENTRY_OFFSET = 0x20;
const TOUCH_FROM = 0x200000;
const TOUCH_BYTES = 16 * 1024 * 1024;

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export function probePayload(): Buffer {
  const magic = 0x1badb002;
  const flags = 0x00010000; // addresses in the header: load as a flat image
  const header = [magic, flags, (-(magic + flags)) >>> 0, LOAD, LOAD, 0, 0, LOAD + ENTRY_OFFSET].flatMap(u32);
  const code: number[] = [0x66, 0xba, 0xf8, 0x03]; // mov dx, 0x3f8
  code.push(0xbf, ...u32(TOUCH_FROM)); // mov edi, TOUCH_FROM
  const loop = code.length;
  code.push(0x89, 0x3f); // mov [edi], edi
  code.push(0x81, 0xc7, ...u32(0x1000)); // add edi, 4096
  code.push(0x81, 0xff, ...u32(TOUCH_FROM + TOUCH_BYTES)); // cmp edi, end
  code.push(0x72, (loop - (code.length + 2)) & 0xff); // jb loop
  for (const ch of Buffer.from(`${PROBE_OK}\n`)) code.push(0xb0, ch, 0xee); // mov al, ch; out dx, al
  code.push(0x66, 0xba, PROBE_EXIT_PORT, 0x00, 0xb0, 0x00, 0xee); // mov dx, 0xf4; mov al, 0; out dx, al
  code.push(0xf4, 0xeb, 0xfd); // hlt; jmp hlt
  return Buffer.from([...header, ...code]);
}
