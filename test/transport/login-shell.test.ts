import { describe, expect, it } from 'vitest';
import { PREAMBLE_KEEP_BYTES, PreambleSplitter, describePreamble, frameCommand } from '../../src/transport/login-shell.js';

const START = 'kvmfarm-start-0123456789abcdef01234567';

function feedAll(splitter: PreambleSplitter, chunks: string[]): string {
  return chunks.map((c) => splitter.feed(Buffer.from(c)).toString()).join('');
}

describe('login shell framing', () => {
  it('keeps only what follows the start line, however the chunks are cut', () => {
    const whole = `pyenv: cannot rehash: couldn't acquire lock\n42\n${START}\n1\nrest ${START}\n`;
    for (let cut = 0; cut <= whole.length; cut++) {
      const s = new PreambleSplitter(START);
      expect(feedAll(s, [whole.slice(0, cut), whole.slice(cut)]), `cut at ${cut}`).toBe(`1\nrest ${START}\n`);
      expect(s.preamble()).toBe("pyenv: cannot rehash: couldn't acquire lock\n42\n");
    }
  });

  it('takes byte-at-a-time delivery and binary output', () => {
    const s = new PreambleSplitter(START);
    const body = Buffer.from([0, 255, 10, 13, 0x1b]);
    const input = Buffer.concat([Buffer.from(`noise${START}\n`), body]);
    const got = Buffer.concat([...input].map((b) => s.feed(Buffer.from([b]))));
    expect(got.equals(body)).toBe(true);
    expect(s.started).toBe(true);
  });

  it('when the command never starts, all of it is the shell\'s, bounded', () => {
    const s = new PreambleSplitter(START);
    expect(feedAll(s, ['x'.repeat(PREAMBLE_KEEP_BYTES * 3), 'tail'])).toBe('');
    expect(s.started).toBe(false);
    expect(s.preamble().length).toBeLessThan(PREAMBLE_KEEP_BYTES + 100);
    expect(s.preamble()).toMatch(/\.\.\. \(\d+ more bytes\)$/);
  });

  it('a line that only looks like the start line does not start the command', () => {
    const s = new PreambleSplitter(START);
    expect(feedAll(s, [`${START.slice(0, -1)}X\n`, `${START}x\n`])).toBe('');
    expect(s.started).toBe(false);
  });

  it('says the shell\'s words as one printable, bounded line', () => {
    const out = new PreambleSplitter(START);
    const err = new PreambleSplitter(START);
    out.feed(Buffer.from(`hello\x1b[31m\n${START}\n`));
    err.feed(Buffer.from(`pyenv: cannot rehash\n${'y'.repeat(1000)}\n${START}\n`));
    const said = describePreamble(out, err);
    expect(said).not.toMatch(/[\n\x1b]/);
    expect(said).toMatch(/^pyenv: cannot rehash\\ny+\.\.\. \(\d+ characters, cut\)$/);
    expect(describePreamble(new PreambleSplitter(START), new PreambleSplitter(START))).toBe('');
  });

  it('frames each command with its own start line and kill marker, words quoted', () => {
    const a = frameCommand(['echo', "it's $(x)"]);
    const b = frameCommand(['echo']);
    expect(a.startLine).not.toBe(b.startLine);
    expect(a.marker).not.toBe(b.marker);
    expect(a.command).toContain(`KVMFARM_CMD=${a.marker}`);
    expect(a.command).toContain(`'it'\\''s $(x)'`);
    expect(a.command.startsWith('exec env ')).toBe(true);
  });
});
