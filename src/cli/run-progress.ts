import { createLogUpdate } from 'log-update';
import { KIND_LABELS } from '../analyze/diags.js';
import { formatGuest, formatRunProgress } from '../progress/format.js';
import { RunMonitor, type RunProgressListener } from '../progress/run-monitor.js';
import { stdio, type Io } from './io.js';
import { wantsLiveView } from '../util/terminal.js';

/** What a local run is given to show its progress with. */
export interface RunProgressHooks {
  log: (line: string) => void;
  progress: RunProgressListener;
}

/** Where and how often the display draws; tests shorten the times and give their own terminal. */
export interface DisplayOptions {
  env?: NodeJS.ProcessEnv;
  /** The terminal of the live view. */
  terminal?: NodeJS.WriteStream;
  /** Live view redraw; plain output's look at the consoles is five times this. */
  redrawMs?: number;
  /** Plain output's line on where the guests are. */
  plainEveryMs?: number;
}

/**
 * Runs `run` with a progress display: on a terminal (and not CI) builds and guests
 * redrawn in place under the run's log lines; otherwise timestamped plain lines, one
 * per trouble seen in a console and one every 30 s on the running guests.
 */
export async function withRunProgress<T>(io: Io, run: (hooks: RunProgressHooks) => Promise<T>, options: DisplayOptions = {}): Promise<T> {
  const terminal = options.terminal ?? process.stdout;
  const live = (options.terminal !== undefined || io === stdio) && wantsLiveView(terminal, options.env ?? process.env);
  const redrawMs = options.redrawMs ?? 1000;
  const display = live ? liveDisplay(io, terminal, redrawMs) : plainDisplay(io, redrawMs * 5, options.plainEveryMs ?? 30_000);
  try {
    return await run(display.hooks);
  } finally {
    display.stop();
  }
}

function liveDisplay(io: Io, terminal: NodeJS.WriteStream, redrawMs: number): { hooks: RunProgressHooks; stop: () => void } {
  const update = createLogUpdate(terminal, { showCursor: true });
  const monitor = new RunMonitor();
  let view = '';
  const draw = () => {
    view = formatRunProgress(monitor.snapshot(), Date.now(), Math.max(40, (terminal.columns ?? 100) - 1)).join('\n');
    update(view);
  };
  const timer = setInterval(() => void monitor.poll().then(draw, () => {}), redrawMs);
  const redraw = <A extends unknown[]>(f: (...a: A) => void) => (...a: A) => {
    f(...a);
    draw();
  };
  return {
    hooks: {
      log(line) {
        update.clear();
        io.out(line);
        if (view) update(view);
      },
      progress: {
        build: redraw((e) => monitor.build(e)),
        guestStarted: redraw((g) => monitor.guestStarted(g)),
        guestEnded: redraw((id, v) => monitor.guestEnded(id, v)),
      },
    },
    stop() {
      clearInterval(timer);
      update.clear();
      update.done();
    },
  };
}

function plainDisplay(io: Io, lookMs: number, tellMs: number): { hooks: RunProgressHooks; stop: () => void } {
  const stamp = () => new Date().toISOString();
  const monitor = new RunMonitor((n) => io.out(`${stamp()} ${n.instance}: ${KIND_LABELS[n.problem]} seen: ${n.line}`));
  const poll = () => monitor.poll().catch(() => {});
  const report = async () => {
    await poll();
    const running = monitor.snapshot().guests.filter((g) => !g.verdict);
    if (running.length > 0) io.out(`${stamp()} progress: ${running.map((g) => formatGuest(g, Date.now())).join('; ')}`);
  };
  // Trouble is looked for often, so it is told when it happens; where the guests are, only now and then.
  const look = setInterval(() => void poll(), lookMs);
  const tell = setInterval(() => void report(), tellMs);
  return {
    hooks: { log: io.out, progress: monitor },
    stop() {
      clearInterval(look);
      clearInterval(tell);
    },
  };
}
