/** The farm: gather hosts, ship kernels, run batches from one shared queue, collect and judge. */
export { remoteRun } from './remote-run.js';
export type { HostReport, RemoteBatchReport, RemoteOptions, RemoteSource, RemoteSummary } from './types.js';
export { LOCALHOST } from './connect-hosts.js';
export { REMOTE_LOG } from './remote-log.js';
export { MAX_RECONNECTS } from './remote-run.js';
export { formatProgress, type RemoteProgress } from './progress.js';
