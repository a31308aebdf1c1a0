import { existsSync, rmSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { quoteWord, quoteWords } from '../../src/transport/quote.js';
import { ECHO_WORDS, HOSTILE_WORDS, PWNED_FILES, splitNul } from './hostile-words.js';

describe('quoteWords', () => {
  it('leaves plain words bare and quotes the rest', () => {
    expect(quoteWords(['ls', '-l', '/tmp/a.b'])).toBe('ls -l /tmp/a.b');
    expect(quoteWord('')).toBe("''");
    expect(quoteWord("it's")).toBe(`'it'\\''s'`);
    expect(quoteWord('A=b')).toBe("'A=b'");
    expect(quoteWord('$(x)')).toBe("'$(x)'");
  });

  it('refuses an empty command and NUL bytes', () => {
    expect(() => quoteWords([])).toThrow(/at least one word/);
    expect(() => quoteWords(['echo', 'a\0b'])).toThrow(expect.objectContaining({ code: 'KVMFARM_BAD_ARGUMENT' }));
  });

  for (const shell of ['sh', 'bash']) {
    it(`gives ${shell} exactly the words, and nothing runs`, async () => {
      for (const file of PWNED_FILES) rmSync(file, { force: true });
      const line = quoteWords([...ECHO_WORDS, ...HOSTILE_WORDS]);
      const result = await execa(shell, ['-c', line], { stripFinalNewline: false, cwd: '/' });
      expect(splitNul(result.stdout)).toEqual(HOSTILE_WORDS);
      for (const file of PWNED_FILES) expect(existsSync(file)).toBe(false);
    });
  }

  it('keeps an assignment-looking first word a program name', async () => {
    const result = await execa('sh', ['-c', quoteWords(['A=b', 'true'])], { reject: false });
    expect(result.exitCode).toBe(127);
  });
});
