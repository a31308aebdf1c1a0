/**
 * OpenSSH's pattern language for Host lines and known_hosts: `*` and `?` wildcards,
 * comma lists, `!` negation. Host names compare without regard to case, as ssh does.
 */
export function matchPattern(text: string, pattern: string): boolean {
  let source = '^';
  for (const char of pattern.toLowerCase()) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(/[\\^$.|+(){}[\]]/g, '\\$&');
  }
  return new RegExp(`${source}$`, 's').test(text.toLowerCase());
}

/**
 * True when some positive pattern matches and no negated one does: a negated match
 * vetoes the whole list, whatever order the patterns come in.
 */
export function matchPatternList(text: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (matchPattern(text, pattern.slice(1))) return false;
    } else if (matchPattern(text, pattern)) {
      matched = true;
    }
  }
  return matched;
}
