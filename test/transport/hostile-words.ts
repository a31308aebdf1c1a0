/** Words that would do harm if any shell between us and the program parsed them. */
export const HOSTILE_WORDS: string[] = [
  'plain',
  'two words',
  '',
  "it's",
  '"double"',
  "'single'",
  "'\\''",
  '$(touch /tmp/kvmfarm-pwned-subst)',
  '`touch /tmp/kvmfarm-pwned-backtick`',
  '; touch /tmp/kvmfarm-pwned-semicolon',
  '&& touch /tmp/kvmfarm-pwned-and',
  '| touch /tmp/kvmfarm-pwned-pipe',
  '> /tmp/kvmfarm-pwned-redirect',
  'line1\nline2\ntouch /tmp/kvmfarm-pwned-newline',
  '-n',
  '--help',
  '-',
  '*',
  '/*',
  '?',
  '[a-z]*',
  '~',
  '~root',
  '$HOME',
  '${HOME}',
  '$((1+1))',
  'A=b',
  '\\',
  '\\n',
  '\t tab and spaces  ',
  '#not a comment',
  '!',
  '{a,b}',
  '%s %d %n',
  'café ünïcødé 日本語 🚀',
  "mixed 'single' and \"double\" and $(x) and `y`",
];

/** The files a successful injection above would create. */
export const PWNED_FILES = ['subst', 'backtick', 'semicolon', 'and', 'pipe', 'redirect', 'newline'].map(
  (name) => `/tmp/kvmfarm-pwned-${name}`,
);

/** A command that prints each of its arguments followed by NUL, so any word can be read back exactly. */
export const ECHO_WORDS = ['printf', '%s\\0'];

export function splitNul(stdout: string): string[] {
  const words = stdout.split('\0');
  words.pop();
  return words;
}
