import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { printable } from '../util/printable.js';

/** A host's message may quote a whole stderr: enough for a reason, never a flood. */
const EVENT_CHARS = 1000;

/** The run directory's `remote-log`: one timestamped line per host event and state move. */
export const REMOTE_LOG = 'remote-log';

export class RemoteLog {
  readonly file: string;

  constructor(runDir: string, private readonly say: (line: string) => void) {
    this.file = path.join(runDir, REMOTE_LOG);
  }

  /** `2026-11-21T10:00:00.000Z h1 shipped 1397760 bytes in 0.05 s`; also echoed as a progress line. */
  event(host: string, what: string, quiet = false): void {
    // Host names and messages can carry text from a host: one line each, so no host forges another's lines.
    const [who, text] = [printable(host), printable(what, EVENT_CHARS)];
    appendFileSync(this.file, `${new Date().toISOString()} ${who} ${text}\n`);
    if (!quiet) this.say(`${who}: ${text}`);
  }

  /** A state machine's already formatted transition line, written as is. */
  transition(line: string, host: string, what: string, quiet: boolean): void {
    appendFileSync(this.file, `${line}\n`);
    if (!quiet) this.say(`${printable(host)}: ${printable(what, EVENT_CHARS)}`);
  }
}
