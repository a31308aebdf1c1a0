import type { RunSummary } from './types.js';

/** One failure title of one scenario, counted over every run given. */
export interface TitleGroup {
  scenario: string;
  title: string;
  /** Instances of the scenario with this title. */
  count: number;
  /** Instances of the scenario judged in all. */
  of: number;
  /** `run-dir/instance` of each. */
  instances: string[];
}

/**
 * Failures grouped by scenario and title across runs, as syzkaller groups crashes:
 * "3 of 10 TREE03 instances stalled" says more than ten excerpts. Most frequent first.
 */
export function groupTitles(summaries: readonly RunSummary[]): TitleGroup[] {
  const judged = new Map<string, number>();
  const groups = new Map<string, TitleGroup>();
  for (const summary of summaries) {
    for (const x of summary.instances) {
      if (!x.verdict) continue;
      judged.set(x.scenario, (judged.get(x.scenario) ?? 0) + 1);
      const title = x.verdict.title;
      if (title === undefined) continue;
      const key = `${x.scenario}\0${title}`;
      const group = groups.get(key) ?? { scenario: x.scenario, title, count: 0, of: 0, instances: [] };
      group.count++;
      group.instances.push(`${summary.runDir}/${x.instance}`);
      groups.set(key, group);
    }
  }
  return [...groups.values()]
    .map((g) => ({ ...g, of: judged.get(g.scenario) ?? g.count }))
    .sort((a, b) => b.count - a.count || a.scenario.localeCompare(b.scenario) || a.title.localeCompare(b.title));
}

/** `TREE03: 3/10 instances: rcu: INFO: rcu_preempt self-detected stall on CPU` */
export function formatTitleGroups(groups: readonly TitleGroup[], runs: number): string[] {
  if (groups.length === 0) return [`No failures in ${runs} run(s).`];
  return [`Failures by title over ${runs} run(s):`, ...groups.map((g) => `${g.scenario}: ${g.count}/${g.of} instances: ${g.title}`)];
}
