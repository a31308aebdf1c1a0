import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildQemuCommand, formatQemuCmdFile, type BuiltQemuCommand, type QemuCommandOptions } from '../qemu/index.js';
import type { Accel } from '../qemu/types.js';
import { INSTANCE_FILES } from '../rundir/layout.js';
import { mergeSettings } from '../scenarios/fragment.js';
import type { TortureSuite } from '../scenarios/suites.js';
import type { KconfigSetting, ScenarioInstance } from '../scenarios/types.js';
import type { RunOptions } from './options.js';
import { GDB_BOOT_ARGS, GDB_QEMU_ARGS } from './gdb.js';

export interface WriteQemuCmdInput {
  instance: ScenarioInstance;
  suite: TortureSuite;
  cfcommon: KconfigSetting[];
  /** The instance's directory in the run directory. */
  dir: string;
  kernelImage: string;
  /** CPUs the batch gives a guest at most. */
  allottedCpus: number;
  options: Pick<RunOptions, 'durationSeconds' | 'shutdownGraceSeconds' | 'memory' | 'bootArgs' | 'qemuArgs' | 'qemuCmd' | 'kconfig' | 'gdb'>;
  accel: Accel;
}

/**
 * Builds the guest's exact qemu command (fresh boot token included) and writes it to
 * the instance's qemu-cmd, rerunnable by hand and by kvm-again.
 */
export function writeQemuCmd(input: WriteQemuCmdInput): BuiltQemuCommand {
  const command = buildQemuCommand(
    instanceQemuOptions(input, { kernel: input.kernelImage, consoleLog: path.join(input.dir, INSTANCE_FILES.consoleLog) }),
  );
  writeFileSync(path.join(input.dir, INSTANCE_FILES.qemuCmd), formatQemuCmdFile(command));
  if (command.warnings.length > 0) {
    writeFileSync(path.join(input.dir, INSTANCE_FILES.warnings), `${command.warnings.join('\n')}\n`, { flag: 'a' });
  }
  return command;
}

/**
 * The qemu options for one scenario instance, shared by the real run and
 * `--dryrun script`, so the script shows exactly the command that would run.
 */
export function instanceQemuOptions(
  input: Pick<WriteQemuCmdInput, 'instance' | 'suite' | 'cfcommon' | 'allottedCpus' | 'options' | 'accel'>,
  where: { kernel: string; consoleLog: string; token?: string },
): QemuCommandOptions {
  const { instance, options } = input;
  const settings = mergeSettings(input.cfcommon, instance.scenario.settings, options.kconfig);
  return {
    accel: input.accel,
    kernel: where.kernel,
    consoleLog: where.consoleLog,
    cpus: instance.cpus,
    allottedCpus: input.allottedCpus,
    memory: options.memory,
    seconds: options.durationSeconds,
    shutdownGraceSeconds: options.shutdownGraceSeconds,
    scenarioBootArgs: instance.scenario.bootArgs,
    bootArgs: options.gdb ? [...options.bootArgs, ...GDB_BOOT_ARGS] : options.bootArgs,
    suite: input.suite,
    // rcutorture adds the suite's CPU-hotplug parameters when the fragment enables hotplug.
    hotplugCpu: settings.get('CONFIG_HOTPLUG_CPU')?.value === 'y',
    qemuArgs: options.gdb ? [...options.qemuArgs, ...GDB_QEMU_ARGS] : options.qemuArgs,
    ...(options.qemuCmd ? { qemuCmd: options.qemuCmd } : {}),
    ...(where.token ? { token: where.token } : {}),
  };
}
