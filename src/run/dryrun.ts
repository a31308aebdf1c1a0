import type { Batch } from '../plan/types.js';
import { formatScenariosFile } from '../rundir/files.js';

/** `batch instance cpus` lines, `-ovf` marking a guest wider than the machine, as kvm.sh prints them. */
export function formatBatches(batches: Batch[]): string {
  return batches
    .flatMap((b, i) => b.instances.map((x) => `${i + 1} ${x.id} ${x.cpus}${b.overflow ? ' (overflow)' : ''}`))
    .join('\n');
}

export function formatScenarios(batches: Batch[]): string {
  return formatScenariosFile(batches).trimEnd();
}

/** The schedule: batches in order, what each builds and boots, and the totals. */
export function formatSchedule(batches: Batch[], cpus: number): string {
  const lines: string[] = [];
  const scenarios = new Set<string>();
  batches.forEach((b, i) => {
    lines.push(`Batch ${i + 1}: ${b.instances.length} guest(s), ${b.cpus} of ${cpus} CPUs${b.overflow ? ', overflow' : ''}`);
    for (const x of b.instances) {
      scenarios.add(x.scenario.name);
      lines.push(`  ${x.id} ${x.cpus} CPU(s)`);
    }
  });
  lines.push(`Total number of kernels to build: ${scenarios.size} (at most; identical configs build once)`);
  lines.push(`Total number of batches: ${batches.length}`);
  return lines.join('\n');
}
