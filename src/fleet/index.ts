export { realClock, type Clock } from './clock.js';
export {
  createFleet, fileSink, formatTransition, HAPPY_PATH, HOST_STATES, HostStateMachine, HostWaitError, IllegalTransitionError,
  renderStateDiagram, TERMINAL_STATES, TRANSITIONS, USABLE_STATES,
  type FleetFailureReason, type HostState, type HostStateMachineOptions, type Transition, type TransitionSink,
} from './host-state.js';
export { oneLine } from './one-line.js';
export {
  describeHost, FAILURE_WORDS, gatherMachines, Quorum, quorumError, watchMachines,
  type MissingHost, type QuorumOptions, type QuorumStart,
} from './quorum.js';
export {
  annotateResult, decideAfterHostLoss, finishAttempt, lostConsoleName, rerunWarning, startAttempt,
  type Attempt, type GiveUp, type LossDecision, type Requeue,
} from './requeue.js';
export { safeExtract, type Refusal, type SafeExtractOptions, type SafeExtractResult } from './safe-extract.js';
