import { KvmFarmError } from '../util/errors.js';

/** Words made only of these need no quotes in any POSIX shell position. `=` is absent on purpose: `A=b cmd` would be an assignment. */
const BARE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

/**
 * Turns words into one POSIX sh command line that gives the program exactly those
 * words: every word that is not plainly safe is single-quoted, with `'` written as
 * `'\''`. Inside single quotes sh expands nothing, so `$(...)`, backticks, `;`,
 * globs and newlines stay literal. Every command sent to a remote shell goes
 * through here. NUL cannot be in an argument on any Unix, so it is refused.
 */
export function quoteWords(words: readonly string[]): string {
  if (words.length === 0) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', 'a command needs at least one word (the program to run)');
  }
  return words.map(quoteWord).join(' ');
}

export function quoteWord(word: string): string {
  if (word.includes('\0')) {
    throw new KvmFarmError(
      'KVMFARM_BAD_ARGUMENT',
      `the word ${JSON.stringify(word)} contains a NUL byte, which no program can receive as an argument`,
    );
  }
  if (BARE_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
