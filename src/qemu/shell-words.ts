import { KvmFarmError } from '../util/errors.js';

// One quoting helper for every command kvm-farm writes or sends: the hosts layer's.
export { quoteWord, quoteWords } from '../transport/quote.js';

export interface ShellLine {
  words: string[];
  /** Offset just past the unquoted newline that ended the line, or the text's length. */
  end: number;
}

/**
 * Split sh words from `start` up to the first unquoted newline. Understands the
 * quoting sh itself offers (single quotes, double quotes with their four escapes,
 * backslashes); expansions (`$x`, `$(...)`) are refused, since kvm-farm never writes them.
 */
export function splitShellLine(text: string, start = 0): ShellLine {
  const words: string[] = [];
  let word: string | null = null;
  let i = start;
  const fail = (why: string): never => {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `cannot read shell words at offset ${i}: ${why}`);
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n') {
      i++;
      break;
    }
    if (ch === ' ' || ch === '\t') {
      if (word !== null) words.push(word);
      word = null;
      i++;
    } else if (ch === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) fail('unterminated single quote');
      word = (word ?? '') + text.slice(i + 1, close);
      i = close + 1;
    } else if (ch === '"') {
      let out = '';
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated double quote');
        const c = text[i]!;
        if (c === '"') break;
        if (c === '$' || c === '`') fail(`expansion ${c} inside double quotes`);
        if (c === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1]!)) {
          if (text[i + 1] !== '\n') out += text[i + 1];
          i += 2;
        } else {
          out += c;
          i++;
        }
      }
      word = (word ?? '') + out;
      i++;
    } else if (ch === '\\') {
      if (i + 1 >= text.length) fail('backslash at end of text');
      if (text[i + 1] !== '\n') word = (word ?? '') + text[i + 1];
      i += 2;
    } else {
      if ('$`;&|<>(){}'.includes(ch)) fail(`unquoted ${ch}`);
      word = (word ?? '') + ch;
      i++;
    }
  }
  if (word !== null) words.push(word);
  return { words, end: i };
}
