/**
 * Text from a host (a probe's output, an archive's entry names, even a host name
 * from a config file) can hold newlines and terminal escapes. Log lines and error
 * messages must stay one line each, so one host cannot forge another's log lines.
 */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
