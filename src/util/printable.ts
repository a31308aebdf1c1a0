/**
 * Text from a host (a probe's output, an archive's entry names, even a host name
 * from a config file) can hold newlines and terminal escapes. Log lines and error
 * messages must stay one line each, so one host cannot forge another's log lines.
 * Besides C0 controls and DEL this escapes the C1 controls (a terminal may take
 * \x9b as ESC [), line and paragraph separators and the bidirectional overrides
 * that make text display other than it reads.
 */
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function oneLine(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** How much of one quoted piece of foreign text reaches a terminal or a log line. */
export const QUOTE_MAX_CHARS = 200;

/**
 * The one way text from files, consoles and hosts reaches a terminal or a log line:
 * made one printable line by {@link oneLine}, then cut to `max` characters with a
 * note of how much was left out, so a 50 MB line costs 200 characters.
 */
export function printable(text: string, max = QUOTE_MAX_CHARS): string {
  // Cut before escaping too, so a huge input is never escaped whole.
  const head = text.length > max ? text.slice(0, max) : text;
  const shown = oneLine(head);
  const cut = shown.length > max ? shown.slice(0, max) : shown;
  return text.length > max || cut.length < shown.length ? `${cut}... (${text.length} characters, cut)` : cut;
}
