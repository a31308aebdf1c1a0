/** The farm: ship kernels to hosts, run batches from per-host queues, collect and judge. */
export { remoteRun } from './remote-run.js';
export type { HostReport, RemoteBatchReport, RemoteOptions, RemoteSource, RemoteSummary } from './types.js';
export { DEFAULT_REMOTE_DIR } from './remote-paths.js';
export { LOCALHOST } from './connect-hosts.js';
export { REMOTE_LOG, type HostStateName } from './host-state.js';
export { formatProgress, type RemoteProgress } from './progress.js';
