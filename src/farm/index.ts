/** The farm: gather hosts, ship kernels, run batches from one shared queue, collect and judge. */
export { remoteRun } from './remote-run.js';
export { resumeRemote, type ResumeOptions } from './resume-run.js';
export { JOURNAL_FILE, readJournal, type JournalState } from './journal.js';
export type { HostReport, RemoteBatchReport, RemoteOptions, RemoteSource, RemoteSummary } from './types.js';
export { LOCALHOST } from './connect-hosts.js';
export { REMOTE_LOG } from './remote-log.js';
export { MAX_RECONNECTS } from './remote-run.js';
export { formatProgress, type RemoteProgress } from './progress.js';

// Host state, quorum, requeue and unpacking: the fleet's parts, for the farm's tests and benches.
export { realClock, type Clock } from './clock.js';
export {
  createFleet, fileSink, formatTransition, HAPPY_PATH, HOST_STATES, HostStateMachine, HostWaitError, IllegalTransitionError,
  renderStateDiagram, TERMINAL_STATES, TRANSITIONS, USABLE_STATES,
  type FleetFailureReason, type HostState, type HostStateMachineOptions, type Transition, type TransitionSink,
} from './host-state.js';
export {
  describeHost, FAILURE_WORDS, gatherMachines, Quorum, quorumError, watchMachines,
  type MissingHost, type QuorumOptions, type QuorumStart,
} from './quorum.js';
export {
  annotateResult, decideAfterHostLoss, finishAttempt, lostConsoleName, rerunWarning, startAttempt,
  type Attempt, type GiveUp, type LossDecision, type Requeue,
} from './requeue.js';
export { safeExtract, type Refusal, type SafeExtractOptions, type SafeExtractResult } from './safe-extract.js';
