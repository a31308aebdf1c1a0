import { createLogUpdate } from 'log-update';
import type { BuildEvent, BuildReporter } from './types.js';
import { wantsLiveView } from '../util/terminal.js';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** One line for one event: `TINY01 +1 make 42.0s:   CC kernel/rcu/update.o`. */
export function describeBuildEvent(event: BuildEvent): string {
  const status = event.status ? ` ${event.status}` : '';
  const detail = event.detail ? `: ${event.detail.trim()}` : '';
  return `${event.label} ${event.phase}${status} ${seconds(event.elapsedMs)}${detail}`;
}

/** Minimal writable stream: what both reporters need from process.stderr. */
export interface ReporterStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * One timestamped line per phase change, for logs, CI and pipes. Make's progress lines
 * are not repeated: only phase changes and the end of each build are written.
 */
export function createLineReporter(stream: ReporterStream, now: () => Date = () => new Date()): BuildReporter {
  return {
    event(event) {
      if (event.phase === 'make' && event.detail !== undefined) return;
      stream.write(`${now().toISOString()} build ${describeBuildEvent(event)}\n`);
    },
  };
}

/**
 * One line, rewritten in place, showing the current phase and make's latest output line;
 * finished builds stay above it as plain lines.
 */
export function createLiveReporter(stream: ReporterStream & NodeJS.WritableStream): BuildReporter {
  const live = createLogUpdate(stream, { showCursor: true });
  return {
    event(event) {
      if (event.phase === 'done') {
        live.clear();
        stream.write(`build ${describeBuildEvent(event)}\n`);
        return;
      }
      const width = Math.max(40, (stream.columns ?? 80) - 1);
      live(describeBuildEvent(event).slice(0, width));
    },
    close() {
      live.done();
    },
  };
}

/** The live reporter on a terminal; timestamped lines when not a TTY or when CI=true. */
export function createBuildReporter(
  stream: ReporterStream & NodeJS.WritableStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): BuildReporter {
  return wantsLiveView(stream, env) ? createLiveReporter(stream) : createLineReporter(stream);
}
