import type { SlurmRequest } from '../slurm/index.js';
import { usageError } from './errors.js';

/**
 * `--slurm "SALLOC ARGS"`: the words salloc gets (partition, account, constraints, node
 * count, time limit), written as one shell word so they never mix with kvm-run's own
 * options. Empty inside an allocation ($SLURM_JOB_ID): that allocation is used as it is.
 */
export function parseSlurmWord(word: string, env: NodeJS.ProcessEnv = process.env): SlurmRequest {
  const words = splitWords(word);
  const jobId = env.SLURM_JOB_ID;
  if (words.length === 0 && jobId !== undefined) {
    if (!/^\d+$/.test(jobId)) throw usageError(`SLURM_JOB_ID "${jobId}" is not a job id`);
    return { sallocArgs: [], jobId };
  }
  return { sallocArgs: words };
}

/** Splits `--slurm WORD REST...` (or `--slurm=WORD`); undefined when the line does not start with --slurm. */
export function splitSlurmArgs(argv: readonly string[]): { word: string; rest: string[] } | undefined {
  const first = argv[0];
  if (first === '--slurm') {
    if (argv[1] === undefined) throw usageError('--slurm needs salloc\'s arguments as one word: --slurm "-p debug -N 4 --exclusive" (or "" inside an allocation)');
    return { word: argv[1], rest: argv.slice(2) };
  }
  if (first?.startsWith('--slurm=')) return { word: first.slice('--slurm='.length), rest: argv.slice(1) };
  return undefined;
}

/**
 * Splits a word as a shell would split plain arguments: blanks separate, '...' and
 * "..." quote, a backslash escapes one character. Nothing is expanded and no shell
 * ever sees the result: each word goes to salloc as one argument.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) current += text[++i]!;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i]!;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw usageError(`--slurm "${text}": the quote ${quote} is not closed`);
  if (inWord) words.push(current);
  return words;
}
