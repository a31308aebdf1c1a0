import { KvmFarmError } from '../util/errors.js';
import { quoteWord, quoteWords, splitShellLine } from './shell-words.js';
import type { QemuCommand } from './types.js';

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The qemu-cmd file: the command, quoted word by word so it can be pasted into sh
 * (a newline inside an argument stays inside its quotes), then one `# NAME=value`
 * line per setting, as rcutorture writes them and kvm-again reads them back.
 */
export function formatQemuCmdFile(command: QemuCommand): string {
  const [binary, ...rest] = command.argv;
  if (binary === undefined) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', 'qemu command is empty');
  // A bare first word holding `=` would read as a variable assignment.
  const first = binary.includes('=') ? `'${binary.replaceAll("'", "'\\''")}'` : quoteWord(binary);
  const lines = [[first, quoteWords(rest)].filter((w) => w !== '').join(' ')];
  for (const [name, value] of Object.entries(command.settings)) {
    if (!SETTING_NAME.test(name)) {
      throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `qemu-cmd setting name "${name}" is not a shell variable name`);
    }
    lines.push(`# ${name}=${value === '' ? "''" : quoteWord(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Exactly reverses formatQemuCmdFile; also reads rcutorture's own qemu-cmd files. */
export function parseQemuCmdFile(text: string): QemuCommand {
  const { words: argv, end } = splitShellLine(text, 0);
  if (argv.length === 0) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', 'qemu-cmd file has no command on its first line');
  }
  const settings: Record<string, string> = {};
  let pos = end;
  while (pos < text.length) {
    const newline = text.indexOf('\n', pos);
    const lineEnd = newline < 0 ? text.length : newline;
    const line = text.slice(pos, lineEnd);
    const match = /^# ([A-Za-z_][A-Za-z0-9_]*)=/.exec(line);
    if (!match) {
      if (line.trim() !== '' && !line.startsWith('#')) {
        throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `qemu-cmd file: unexpected line "${line}" after the command`);
      }
      pos = lineEnd + 1;
      continue;
    }
    try {
      // A quoted value may hold newlines: read it as sh would, up to the unquoted newline.
      const value = splitShellLine(text, pos + match[0].length);
      settings[match[1]!] = value.words.join(' ');
      pos = value.end;
    } catch {
      settings[match[1]!] = readSettingValue(line.slice(match[0].length));
      pos = lineEnd + 1;
    }
  }
  return { argv, settings };
}

function readSettingValue(raw: string): string {
  // rcutorture writes lines such as `TORTURE_TRUST_MAKE=""; export TORTURE_TRUST_MAKE`: keep the first word.
  const shellEnd = raw.search(/;\s/);
  try {
    return splitShellLine(shellEnd >= 0 ? raw.slice(0, shellEnd) : raw).words.join(' ');
  } catch {
    return raw;
  }
}
