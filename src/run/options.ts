import type { KconfigSetting } from '../scenarios/types.js';

import type { AccelRequest, CcacheMode } from '../options/defaults.js';
import type { JitterSettings } from '../host-load/jitter-spec.js';

export type { AccelRequest, CcacheMode, DryrunMode } from '../options/defaults.js';

/** Which scenarios run, on how many CPUs: what both planning and running need. */
export interface SelectionOptions {
  /** Torture suite (`rcu`, `lock`, `scf`, ...). */
  torture: string;
  /**
   * Scenario directory, or `bundled` for kvm-farm's own `scenarios/<torture>`; default the
   * kernel tree's `tools/testing/selftests/rcutorture/configs/<torture>` when it has one.
   */
  scenariosDir?: string;
  /** The kernel tree whose own scenarios are the default. */
  kernelDir?: string;
  /** `--configs` list; default the directory's CFLIST. */
  configs?: string;
  /** CPUs the run may use on this machine; default all online CPUs. */
  cpus?: number;
  /** Extra Kconfig settings for every scenario (`--kconfig`). */
  kconfig: KconfigSetting[];
  /** Extra kernel boot arguments for every guest (`--bootargs`). */
  bootArgs: string[];
  /** `#CHECK#` entries of `--kconfig`: every built .config must have them. */
  kconfigChecks?: KconfigSetting[];
  /** `--gdb`: one instance, built with debug info, its guest halted until a debugger attaches. */
  gdb?: boolean;
}

/** Everything `kvm-run` does, as a library call. */
export interface RunOptions extends SelectionOptions {
  /** Test duration per guest, in seconds. */
  durationSeconds: number;
  /** Kernel source tree; default the current directory. */
  kernelDir: string;
  /** Config base make target (`defconfig`, `tinyconfig`) for scenarios without a `#BASE#` line. */
  defconfig: string;
  kasan: boolean;
  kcsan: boolean;
  /** Build with debug info (`--debug-info`; `--gdb` implies it), so vmlinux can be read by gdb and addr2line. */
  debugInfo?: boolean;
  /** Extra `make` arguments (`--kmake-arg`). */
  kmakeArgs: string[];
  /** Reuse build directories without `make clean`. */
  trustMake: boolean;
  ccache: CcacheMode;
  /** Parent of run directories (`--results`); default `res`. */
  results?: string;
  /** Name of the run directory (`--datestamp`); default the current date and time. */
  datestamp?: string;
  /** Build the kernels and write each guest's qemu-cmd, then stop. */
  buildonly: boolean;
  /** Guest memory as qemu takes it (`512M`, `2G`). */
  memory: string;
  /** Extra qemu arguments (`--qemu-args`). */
  qemuArgs: string[];
  /** qemu binary to use instead of the architecture's (`--qemu-cmd`). */
  qemuCmd?: string;
  /** Seconds a guest may run past the duration before it is judged hung. */
  shutdownGraceSeconds: number;
  /** Seconds a guest may stay silent at boot before it is judged no-boot. */
  bootTimeoutSeconds: number;
  accel: AccelRequest;
  /** Host-side jitter processes while guests run (`--jitter`). */
  jitter: JitterSettings;
  /** Leave guests unpinned instead of giving each guest of a batch its own CPUs (`--no-affinity`). */
  noAffinity: boolean;
  /** Stop a run that holds this kernel tree and results directory, instead of refusing (`--kill-previous`). */
  killPrevious: boolean;
  /** Progress lines for a person; the CLI prints them. */
  log?: (line: string) => void;
}
