import type { RunOptions } from '../../src/run/options.js';

/**
 * Options for a real run of kvm-farm's small scenarios, as a test would type them:
 * `scenariosDir: 'bundled'`, because the kernel tree's own scenarios are otherwise the default.
 */
export function smallRunOptions(kernelDir: string, results: string, over: Partial<RunOptions> = {}): RunOptions {
  return {
    torture: 'rcu',
    scenariosDir: 'bundled',
    kconfig: [],
    bootArgs: [],
    durationSeconds: 30,
    kernelDir,
    defconfig: 'defconfig',
    kasan: false,
    kcsan: false,
    kmakeArgs: [],
    trustMake: false,
    ccache: 'auto',
    results,
    buildonly: false,
    memory: '512M',
    qemuArgs: [],
    shutdownGraceSeconds: 60,
    bootTimeoutSeconds: 60,
    accel: 'tcg',
    jitter: { processes: -1, maxSleepUs: 1_000_000, maxSpinUs: 1_000 },
    noAffinity: false,
    killPrevious: false,
    ...over,
  };
}
