/** The farm: gather hosts, ship kernels, run batches from one shared queue, collect and judge. */
export { remoteRun } from './remote-run.js';
export type { HostReport, RemoteBatchReport, RemoteOptions, RemoteSource, RemoteSummary } from './types.js';
export { DEFAULT_REMOTE_DIR } from './remote-paths.js';
export { LOCALHOST } from './connect-hosts.js';
export { REMOTE_LOG } from './remote-log.js';
export { GATHER_TIMEOUT_MS, MAX_RECONNECTS } from './remote-run.js';
export { formatProgress, type RemoteProgress } from './progress.js';
