/**
 * First SIGINT/SIGTERM: abort the run, so guests are stopped and what was gathered
 * is written. A second one exits at once, for when stopping itself is stuck.
 * Returns a function that removes the handlers.
 */
export function installSignalHandlers(controller: AbortController, say: (line: string) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      say(`${signal} again: exiting now; guests may be left running`);
      process.exit(130);
    }
    say(`${signal}: stopping every guest and writing what was gathered (${signal} again to exit at once)`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
