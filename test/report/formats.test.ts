import { describe, expect, it } from 'vitest';
import { syntheticFarmSummary } from '../../bench/report-synthetic.js';
import { formatJunit } from '../../src/report/junit.js';
import { formatSummary } from '../../src/report/text.js';
import { formatTitleGroups, groupTitles } from '../../src/report/title-groups.js';

describe('titles in the text table, JUnit and across runs', () => {
  const summary = syntheticFarmSummary(20, 2, '/r/one');

  it('puts the title in the JUnit failure message and the text line, the reasons after it', () => {
    const junit = formatJunit(summary);
    expect(junit).toContain('<failure type="fail" message="fail: rcu-torture: !!! Reader Pipe">FAILURE: 57 instances; &quot;!!!&quot; error lines x3\n');
    const line = formatSummary(summary).find((l) => l.startsWith('BUSTED01 '))!;
    expect(line).toMatch(/FAIL .* - rcu-torture: !!! Reader Pipe \(FAILURE: 57 instances; "!!!" error lines x3\)$/);
  });

  it('counts each scenario\'s titles over every run given, most frequent first', () => {
    const other = syntheticFarmSummary(10, 1, '/r/two');
    const groups = groupTitles([summary, other]);
    expect(formatTitleGroups(groups, 2)).toEqual(['Failures by title over 2 run(s):', 'BUSTED01: 3/3 instances: rcu-torture: !!! Reader Pipe', 'TREE07: 2/3 instances: ACPI Warning: SystemIO range conflicts']);
    expect(groups[0]!.instances).toEqual(['/r/one/BUSTED01', '/r/one/BUSTED01.2', '/r/two/BUSTED01']);
    expect(formatTitleGroups(groupTitles([]), 1)).toEqual(['No failures in 1 run(s).']);
  });
});
