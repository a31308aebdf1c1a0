import { homedir, hostname as localHostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { KvmFarmError } from '../util/errors.js';
import { type ConfigLine, globPaths, readConfigFile } from './config-lines.js';
import { type HostSpec, parseHostSpec, parsePort } from './host-spec.js';
import { matchPatternList } from './patterns.js';

export type StrictHostKeyChecking = 'yes' | 'no' | 'accept-new' | 'ask';

/** Everything kvm-farm needs to reach one host, as ssh would have worked it out. */
export interface ResolvedHost {
  /** The name as given (after any `user@` and `:port`): what Host patterns matched. */
  alias: string;
  /** The TCP target: HostName from the config, or the alias itself. */
  hostName: string;
  port: number;
  user: string;
  /** Expanded paths in the order ssh would try them. `explicitIdentity` says whether the config named any. */
  identityFiles: string[];
  explicitIdentity: boolean;
  identitiesOnly: boolean;
  /** Jump hosts in order, each a spec to resolve against the same config; empty for none. */
  proxyJump: string[];
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: StrictHostKeyChecking;
  hashKnownHosts: boolean;
  hostKeyAlias: string | null;
  connectTimeoutMs: number | null;
  serverAliveIntervalMs: number | null;
  serverAliveCountMax: number | null;
  /** The config files read, in order: a message can name them. */
  configFiles: string[];
}

export interface ResolveOptions {
  /** Like `ssh -F`: only this file is read. Without it, ~/.ssh/config then /etc/ssh/ssh_config. */
  configFile?: string;
  /** Home directory for `~`, `%d` and ~/.ssh; defaults to the current user's. */
  home?: string;
  /** Local user name for `%u` and the default User. */
  localUser?: string;
  /** System-wide config read after the user's when no configFile is given; null to skip. */
  systemConfigFile?: string | null;
}

const MAX_INCLUDE_DEPTH = 16;

interface Walk {
  alias: string;
  spec: HostSpec;
  values: Map<string, string[]>;
  identityFiles: string[];
  files: string[];
  home: string;
  localUser: string;
}

/**
 * Resolves `user@host:port` through OpenSSH config files the way ssh does: the first
 * value obtained for each keyword wins (IdentityFile accumulates), Include is
 * followed (globs, relative to ~/.ssh, nested), `~` and `%` tokens are expanded.
 * Match blocks are understood for `all`, `host`, `originalhost`, `user` and
 * `localuser`; any other criterion (exec above all) never matches and runs nothing.
 * The host name is only ever compared with patterns here: it never reaches a shell.
 */
export function resolveSshHost(spec: string, options: ResolveOptions = {}): ResolvedHost {
  const parsed = parseHostSpec(spec);
  const home = options.home ?? homedir();
  const walk: Walk = {
    alias: parsed.host,
    spec: parsed,
    values: new Map(),
    identityFiles: [],
    files: [],
    home,
    localUser: options.localUser ?? userInfo().username,
  };
  const userDir = join(home, '.ssh');
  if (options.configFile !== undefined) {
    readInto(walk, expandTilde(options.configFile, home), userDir, 0, true, true);
  } else {
    readInto(walk, join(userDir, 'config'), userDir, 0, true, false);
    const system = options.systemConfigFile === undefined ? '/etc/ssh/ssh_config' : options.systemConfigFile;
    if (system !== null) readInto(walk, system, '/etc/ssh', 0, true, false);
  }
  return finish(walk);
}

function readInto(walk: Walk, file: string, includeDir: string, depth: number, active: boolean, required: boolean): void {
  if (depth > MAX_INCLUDE_DEPTH) {
    throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `ssh config: Include nested more than ${MAX_INCLUDE_DEPTH} deep at ${file}: is there a loop?`);
  }
  const lines = readConfigFile(file);
  if (lines === null) {
    if (required) throw new KvmFarmError('KVMFARM_BAD_ARGUMENT', `ssh config file ${file} does not exist`);
    return;
  }
  walk.files.push(file);
  const outer = active;
  for (const line of lines) {
    if (line.keyword === 'host') {
      active = outer && matchPatternList(walk.alias, line.args);
    } else if (line.keyword === 'match') {
      active = outer && matchCriteria(walk, line);
    } else if (line.keyword === 'include') {
      for (const pattern of line.args) {
        const expanded = expandTilde(pattern, walk.home);
        const path = isAbsolute(expanded) ? expanded : join(includeDir, expanded);
        for (const included of globPaths(path)) readInto(walk, included, includeDir, depth + 1, active, false);
      }
    } else if (active) {
      take(walk, line);
    }
  }
}

function matchCriteria(walk: Walk, line: ConfigLine): boolean {
  const args = [...line.args];
  while (args.length > 0) {
    const raw = args.shift()!.toLowerCase();
    const negate = raw.startsWith('!');
    const criterion = negate ? raw.slice(1) : raw;
    if (criterion === 'all') return !negate;
    const value = args.shift() ?? '';
    const list = value.split(',');
    let result: boolean;
    if (criterion === 'host') result = matchPatternList(hostNameSoFar(walk), list);
    else if (criterion === 'originalhost') result = matchPatternList(walk.alias, list);
    else if (criterion === 'user') result = matchPatternList(walk.spec.user ?? first(walk, 'user') ?? walk.localUser, list);
    else if (criterion === 'localuser') result = matchPatternList(walk.localUser, list);
    else return false;
    if (result === negate) return false;
  }
  return true;
}

function take(walk: Walk, line: ConfigLine): void {
  if (line.keyword === 'identityfile') {
    if (line.args[0] !== undefined) walk.identityFiles.push(line.args[0]);
  } else if (!walk.values.has(line.keyword) && line.args.length > 0) {
    walk.values.set(line.keyword, line.args);
  }
}

function first(walk: Walk, keyword: string): string | undefined {
  return walk.values.get(keyword)?.[0];
}

function hostNameSoFar(walk: Walk): string {
  const value = first(walk, 'hostname');
  return value === undefined ? walk.alias : expandTokens(value, { h: walk.alias });
}

function finish(walk: Walk): ResolvedHost {
  const hostName = hostNameSoFar(walk);
  const portText = first(walk, 'port');
  const port = walk.spec.port ?? (portText === undefined ? 22 : parsePort(portText, `Port in ${walk.files.join(', ')}`));
  const user = walk.spec.user ?? expandTokens(first(walk, 'user') ?? walk.localUser, {});
  const tokens: Record<string, string> = {
    h: hostName,
    n: walk.alias,
    p: String(port),
    r: user,
    u: walk.localUser,
    d: walk.home,
    i: String(process.getuid?.() ?? 0),
    l: localHostname(),
    L: localHostname().split('.')[0]!,
  };
  const path = (value: string): string => expandTokens(expandTilde(value, walk.home), tokens);
  const explicitIdentity = walk.identityFiles.length > 0;
  const identities = explicitIdentity
    ? walk.identityFiles.filter((file) => file.toLowerCase() !== 'none')
    : ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'].map((name) => `~/.ssh/${name}`);
  const knownHosts = walk.values.get('userknownhostsfile') ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
  const globalKnownHosts = walk.values.get('globalknownhostsfile') ?? ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
  const jump = first(walk, 'proxyjump');
  const alias = first(walk, 'hostkeyalias');
  return {
    alias: walk.alias,
    hostName,
    port,
    user,
    identityFiles: identities.map(path),
    explicitIdentity,
    identitiesOnly: yes(first(walk, 'identitiesonly')),
    proxyJump: jump === undefined || jump.toLowerCase() === 'none' ? [] : jump.split(','),
    userKnownHostsFiles: knownHosts.filter((f) => f.toLowerCase() !== 'none').map(path),
    globalKnownHostsFiles: globalKnownHosts.filter((f) => f.toLowerCase() !== 'none').map(path),
    strictHostKeyChecking: strictness(first(walk, 'stricthostkeychecking')),
    hashKnownHosts: yes(first(walk, 'hashknownhosts')),
    hostKeyAlias: alias === undefined ? null : alias,
    connectTimeoutMs: seconds(first(walk, 'connecttimeout')),
    serverAliveIntervalMs: seconds(first(walk, 'serveraliveinterval')),
    serverAliveCountMax: count(first(walk, 'serveralivecountmax')),
    configFiles: walk.files,
  };
}

export function expandTilde(path: string, home: string): string {
  if (path === '~') return home;
  return path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

/** Replaces `%x` tokens; an unknown token is left as written so the mistake stays visible. */
export function expandTokens(text: string, tokens: Record<string, string>): string {
  return text.replace(/%(.)/g, (whole, key: string) => (key === '%' ? '%' : (tokens[key] ?? whole)));
}

function yes(value: string | undefined): boolean {
  return value !== undefined && ['yes', 'true'].includes(value.toLowerCase());
}

function strictness(value: string | undefined): StrictHostKeyChecking {
  const v = value?.toLowerCase();
  if (v === 'no' || v === 'off') return 'no';
  if (v === 'accept-new') return 'accept-new';
  if (v === 'yes' || v === 'true') return 'yes';
  return 'ask';
}

/** ssh takes plain seconds here; 0 or nonsense means "not set". */
function seconds(value: string | undefined): number | null {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n * 1000 : null;
}

function count(value: string | undefined): number | null {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) && n >= 0 ? n : null;
}
