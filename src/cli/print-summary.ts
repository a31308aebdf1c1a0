import { formatSummary } from '../report/text.js';
import type { RunSummary } from '../report/types.js';

export function printSummary(summary: RunSummary, out: (line: string) => void): void {
  for (const line of formatSummary(summary)) out(line);
}
