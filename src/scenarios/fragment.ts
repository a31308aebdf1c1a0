import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';
import type { KconfigSetting } from './types.js';

const OPTION = /^CONFIG_[A-Za-z0-9_]+$/;
const VALUE = /^(?:[ynm]|-?\d+|0x[0-9a-fA-F]+|"(?:[^"\\]|\\.)*")$/;
const NOT_SET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

export interface ParsedFragment {
  settings: KconfigSetting[];
  checks: KconfigSetting[];
  /** `#BASE#=tinyconfig`: the make target the config starts from, when the scenario names one. */
  base?: string;
}

const BASE = /^#BASE#=([A-Za-z0-9_.-]+)$/;

/**
 * Parses a Kconfig fragment as rcutorture writes them: `CONFIG_X=value` lines,
 * `#CHECK#CONFIG_X=value` lines (checked after the build, never applied), comments
 * and blank lines. kvm-farm adds `#BASE#=tinyconfig`, so a small scenario can start
 * from another base than the run's --defconfig; to rcutorture it is a comment. `# CONFIG_X is not set`, as .config files say it, means `=n`.
 * Anything else is an error naming the file and line, so a typo never silently
 * builds the wrong kernel.
 */
export function parseFragment(text: string, source: string): ParsedFragment {
  const settings: KconfigSetting[] = [];
  const checks: KconfigSetting[] = [];
  let base: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const origin = `${source}:${index + 1}`;
    if (line === '') return;
    const notSet = NOT_SET.exec(line);
    if (notSet) {
      settings.push({ option: notSet[1]!, value: 'n', origin });
      return;
    }
    if (line.startsWith('#CHECK#')) {
      checks.push(parseSetting(line.slice('#CHECK#'.length), origin));
      return;
    }
    const baseMatch = BASE.exec(line);
    if (baseMatch) {
      base = baseMatch[1];
      return;
    }
    if (line.startsWith('#')) return;
    settings.push(parseSetting(line, origin));
  });
  return base === undefined ? { settings, checks } : { settings, checks, base };
}

/** Parses one `CONFIG_X=value` word, as found in a fragment or in `--kconfig`. */
export function parseSetting(text: string, origin: string): KconfigSetting {
  const eq = text.indexOf('=');
  const option = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? '' : text.slice(eq + 1);
  if (eq < 0 || !OPTION.test(option) || !VALUE.test(value)) {
    throw new KvmFarmError(
      'KVMFARM_BAD_FRAGMENT',
      `${printable(origin)}: "${printable(text)}" is not a Kconfig setting (CONFIG_NAME=y|n|m|number|"string")`,
    );
  }
  return { option, value, origin };
}

/** `--kconfig` split into what is applied and what is only checked after the build. */
export interface KconfigArgument {
  settings: KconfigSetting[];
  /** `#CHECK#CONFIG_X=y` entries: the built .config must have them; they are never applied. */
  checks: KconfigSetting[];
}

/**
 * Splits `--kconfig` text into entries at white space outside double quotes, so
 * `CONFIG_CMDLINE="a b"` stays one entry; an unclosed quote is an error.
 */
export function kconfigWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '\\' && i + 1 < text.length) {
      word += c + text[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (!quoted && /\s/.test(c)) {
      if (word !== '') words.push(word);
      word = '';
      continue;
    }
    word += c;
  }
  if (quoted) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `--kconfig "${printable(text)}": a double quote is not closed`);
  if (word !== '') words.push(word);
  return words;
}

/**
 * Parses `--kconfig "CONFIG_A=y CONFIG_B=-1 CONFIG_C=\"x y\" #CHECK#CONFIG_D=y"` as kvm.sh
 * takes it: values y, n, m, numbers (negative too), hex and quoted strings; a
 * `#CHECK#` entry is checked against the built .config, as in a scenario fragment.
 */
export function parseKconfigText(text: string): KconfigArgument {
  const settings: KconfigSetting[] = [];
  const checks: KconfigSetting[] = [];
  for (const word of kconfigWords(text)) {
    if (word.startsWith('#CHECK#')) checks.push(parseSetting(word.slice('#CHECK#'.length), '--kconfig'));
    else settings.push(parseSetting(word, '--kconfig'));
  }
  return { settings, checks };
}

/** Parses `--kconfig "CONFIG_A=y CONFIG_B=4"` into the settings it applies. */
export function parseKconfigArgument(text: string): KconfigSetting[] {
  return parseKconfigText(text).settings;
}

/** Boot arguments from a NAME.boot file: whole-line `#` comments dropped, words in order. */
export function parseBootFile(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word !== '');
}

/** Later settings win, as when fragments are applied one after another. */
export function mergeSettings(...layers: KconfigSetting[][]): Map<string, KconfigSetting> {
  const merged = new Map<string, KconfigSetting>();
  for (const layer of layers) for (const setting of layer) merged.set(setting.option, setting);
  return merged;
}
