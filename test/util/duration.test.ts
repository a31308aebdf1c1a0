import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

describe('parseDuration', () => {
  it.each([
    ['30', 1800],
    ['30s', 30],
    ['5m', 300],
    ['2h', 7200],
    ['1d', 86400],
  ])('%s is %i seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds));
  it.each(['5x', '', '-3', '1.5', 'h', '0', '0s'])('rejects "%s" naming the value', (text) => {
    expect(() => parseDuration(text)).toThrow(`--duration "${text}"`);
  });
});

describe('formatDuration', () => {
  it('reads the way a person says it', () => {
    expect([45, 120, 150, 5400, 90000].map(formatDuration)).toEqual(['45s', '2m', '2m30s', '1h30m', '1d1h']);
  });
});
