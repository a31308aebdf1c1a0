/** The host layer: run commands as word lists on the local machine or over one ssh connection per host. */
export type { CmdResult, ExitStatus, Host, LoginShellReport, RunOptions, SpawnHandle, SpawnOptions, TransferOptions } from './types.js';
export { DEFAULT_RUN_TIMEOUT_MS } from './types.js';
export { quoteWord, quoteWords } from './quote.js';
export { parseHostSpec, type HostSpec } from './host-spec.js';
export { resolveSshHost, type ResolveOptions, type ResolvedHost, type StrictHostKeyChecking } from './ssh-config.js';
export {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  hashHostName,
  knownHostsName,
  parseKnownHosts,
  type HostKey,
  type HostKeyVerdict,
  type KnownHostEntry,
} from './known-hosts.js';
export { HostError, isHostError, type HostFailureReason } from './host-errors.js';
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_KEEPALIVE_COUNT_MAX, DEFAULT_KEEPALIVE_INTERVAL_MS, type ConnectOptions } from './connect.js';
export { LocalHost } from './local-host.js';
export { SshHost, connectSshHost, type SshHostOptions } from './ssh-host.js';
export { describePreamble, frameCommand, PreambleSplitter } from './login-shell.js';
