import { closeSync, constants, fstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';
import { isAbsolute, join } from 'node:path';

/** One line of an OpenSSH config file, its keyword lower-cased, its arguments unquoted. */
export interface ConfigLine {
  keyword: string;
  args: string[];
  file: string;
  line: number;
}

/**
 * Splits a config file into lines as ssh's argv_split does: `Keyword args` or
 * `Keyword=args`, double or single quotes grouping words, `#` starting a comment.
 */
export function parseConfigText(text: string, file: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+|$)(.*)$/s.exec(trimmed);
    if (!match) return;
    lines.push({ keyword: match[1]!.toLowerCase(), args: splitArgs(match[2] ?? ''), file, line: index + 1 });
  });
  return lines;
}

function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let quote: string | null = null;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote) {
      if (char === quote) quote = null;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else if (char === '#' && !inWord) {
      break;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inWord) args.push(current);
  return args;
}

/**
 * Expands a path pattern with `*`, `?` (and `[...]`) in any component, as Include
 * needs. Sorted like glob(3); hidden names only match a pattern that starts with a dot.
 */
export function globPaths(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  const parts = pattern.split('/');
  let bases = [isAbsolute(pattern) ? '/' : '.'];
  for (const part of parts) {
    if (part === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(part)) {
        next.push(join(base, part));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (matchGlobPart(name, part)) next.push(join(base, name));
      }
    }
    bases = next;
  }
  return bases;
}

function matchGlobPart(name: string, part: string): boolean {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const char = part[i]!;
    const close = char === '[' ? part.indexOf(']', i + 2) : -1;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (close > 0) {
      const body = part.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
      source += `[${body}]`;
      i = close;
    } else source += char.replace(/[\\^$.|+(){}[\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's').test(name);
}

export function readConfigFile(file: string): ConfigLine[] | null {
  let text: string;
  try {
    text = readRegularFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (error instanceof KvmFarmError) throw error;
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `ssh config ${printable(file)} cannot be read: ${code ?? String(error)}`);
  }
  return parseConfigText(text, file);
}

/**
 * An ssh config may be a link (into a dotfiles checkout, say), but it must end at a
 * regular file: a directory is an error naming it, and a FIFO is never waited on.
 */
function readRegularFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `ssh config ${printable(file)} is not a regular file`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

