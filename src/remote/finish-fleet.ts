import type { Member } from './member.js';
import type { RemoteLog } from './remote-log.js';
import { sweepRun } from './sweep.js';

/** How long a host may take to stop its guests and remove its work directory at the end. */
const CLEANUP_MS = 60_000;

/**
 * Ends every host's part in the run: hosts still connected go through collecting
 * (anything of this run still running there is killed, the work directory removed
 * unless --keep-remote) to done; hosts never reached, lost or unreachable end
 * failed with their last reason; every connection is closed.
 */
export async function finishFleet(members: Member[], log: RemoteLog, options: { keep: boolean; interrupted: boolean }): Promise<void> {
  await Promise.all(members.map(async (m) => {
    const state = m.machine.state;
    if (state === 'unreachable' || state === 'lost' || state === 'rejoining' || state === 'connecting') {
      m.machine.transition('failed', `the run ended while it was ${state}: ${m.machine.lastFailure?.reason ?? 'no reason recorded'}`, m.machine.lastFailure?.failure);
    } else if (state === 'probing') {
      m.machine.transition('done', `the run ended while it was ${state}`);
    } else if (state === 'ready' || state === 'running' || state === 'stopping' || state === 'shipping') {
      m.machine.transition('collecting', options.interrupted ? 'interrupted: stopping what is left and cleaning up' : 'the run is over: cleaning up');
    }
    if (m.machine.state === 'collecting') {
      if (m.host && m.paths) await cleanUp(m, log, options.keep);
      // The connection can drop during the clean-up itself: then the host ends failed, with that reason.
      if (m.machine.state === 'collecting') m.machine.transition('done', options.keep && m.paths ? `kept ${m.paths.work}` : 'cleaned up');
      else if (m.machine.can('failed')) m.machine.transition('failed', `lost while cleaning up: ${m.machine.lastFailure?.reason ?? ''}`, 'lost');
    }
  }));
  await Promise.all(members.map((m) => m.host?.close().catch(() => {})));
}

async function cleanUp(m: Member, log: RemoteLog, keep: boolean): Promise<void> {
  const host = m.host!;
  const paths = m.paths!;
  // Guests end by themselves or are killed through their channels; this catches any that did not (a helper whose channel died).
  const killed = await sweepRun(host, m.tag);
  if (killed) log.event(m.name, `killed ${killed} leftover process(es) of this run`);
  if (keep) {
    log.event(m.name, `kept ${paths.work} (--keep-remote)`, true);
    return;
  }
  const rm = await host.run(['rm', '-rf', '--', paths.work, `${paths.root}/probe.img`], { timeoutMs: CLEANUP_MS }).catch((e: Error) => ({ exitCode: null, stderr: e.message }));
  log.event(m.name, rm.exitCode === 0 ? `removed ${paths.work}` : `could not remove ${paths.work}: ${rm.stderr.trim()}`, true);
}
