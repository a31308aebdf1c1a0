import path from 'node:path';
import { allBatches } from '../plan/plan.js';
import { buildQemuCommand } from '../qemu/index.js';
import { quoteWords } from '../qemu/shell-words.js';
import { mergeSettings } from '../scenarios/fragment.js';
import type { RunOptions } from './options.js';
import type { PreparedRun } from './prepare.js';
import { instanceQemuOptions } from './qemu-cmd.js';
import { describeScenarioDir } from '../scenarios/scenario-dir.js';
import { gdbAttachLine } from './gdb.js';

/**
 * `--dryrun script`: what the run would do, as commands a person can read and
 * paste: one configure-and-make per distinct scenario, then each batch's qemu
 * commands. Paths under RUNDIR and BUILD stand for the directories a real run makes.
 */
export function describeScript(prepared: PreparedRun, options: RunOptions): string {
  const lines = [
    `# kvm-farm: ${prepared.suite.name} suite, ${prepared.cpus} CPUs, ${options.durationSeconds} s per guest`,
    `# ${describeScenarioDir(prepared.scenarios)}`,
  ];
  const built = new Set<string>();
  for (const instance of prepared.instances) {
    const { scenario } = instance;
    if (built.has(scenario.name)) continue;
    built.add(scenario.name);
    const settings = mergeSettings(prepared.library.cfcommon, scenario.settings, options.kconfig);
    lines.push(
      `# kernel for ${scenario.name}: ${scenario.base ?? options.defconfig}, then CFcommon, ${scenario.name}, --kconfig (${settings.size} settings)`,
      quoteWords(['make', '-C', options.kernelDir, `O=BUILD/${scenario.name}`, scenario.base ?? options.defconfig]),
      quoteWords(['make', '-C', options.kernelDir, `O=BUILD/${scenario.name}`, 'olddefconfig']),
      quoteWords(['make', '-C', options.kernelDir, `O=BUILD/${scenario.name}`, `-j${prepared.cpus}`, ...options.kmakeArgs]),
    );
  }
  allBatches(prepared.plan).forEach((batch, i) => {
    lines.push(`# batch ${i + 1}: ${batch.cpus} of ${prepared.cpus} CPUs`);
    for (const instance of batch.instances) {
      const dir = path.join('RUNDIR', instance.id);
      const command = buildQemuCommand(
        instanceQemuOptions(
          {
            instance,
            suite: prepared.suite,
            cfcommon: prepared.library.cfcommon,
            allottedCpus: prepared.cpus,
            options,
            accel: options.accel === 'kvm' ? 'kvm' : 'tcg',
          },
          { kernel: path.join(dir, 'bzImage'), consoleLog: path.join(dir, 'console.log'), token: 'TOKEN' },
        ),
      );
      lines.push(`${quoteWords(command.argv)} &`);
      if (options.gdb) lines.push(`# ${gdbAttachLine(instance.id, path.join(dir, 'vmlinux'))}`);
    }
    lines.push('wait');
  });
  return lines.join('\n');
}
