import { chooseAccel, probeAccel, probeGuestArgs, TCG_REQUESTED, type AccelChoice } from '../qemu/probe-accel.js';
import { PROBE_EXIT_STATUS, PROBE_OK, probePayload } from '../qemu/probe-payload.js';
import type { Accel } from '../qemu/types.js';
import type { Host, LoginShellReport } from '../transport/index.js';
import type { AccelRequest } from '../run/options.js';
import { printable } from '../util/printable.js';
import { LOCALHOST } from './connect-hosts.js';
import { describeStepFailure } from './probe-words.js';

/** What a host offers, as seen from a session there. */
export interface HostProbe {
  /** `nproc`: affinity and cgroup aware, so a pinned sshd reports its own share. */
  cpus: number;
  accel: Accel;
  accelReason: string;
  /** Bytes free in the remote directory's file system. */
  freeBytes: number;
  qemuVersion: string;
  elapsedMs: number;
  /** Over ssh: how the user's login shell starts (its rc files run before every command). */
  loginShell?: LoginShellReport;
}

export interface ProbeHostOptions {
  qemuBinary: string;
  accel: AccelRequest;
  /** The host's remote directory; created here so its file system can be measured. */
  remoteDir: string;
  signal?: AbortSignal;
  /** Longest one probe command may take, login shell included. Default 20 s. */
  stepTimeoutMs?: number;
}

/** Why a host cannot serve the run, in one line that names the fix. */
export class ProbeFailure extends Error {}

const STEP_MS = 20_000;

/**
 * Asks the host what kvm.sh would find out by running there: CPUs, the qemu binary,
 * a working accelerator (the same kernel-free probe guest as the local probe) and
 * free disk. Throws ProbeFailure when the host cannot run guests.
 */
export async function probeHost(host: Host, options: ProbeHostOptions): Promise<HostProbe> {
  const started = Date.now();
  const stepMs = options.stepTimeoutMs ?? STEP_MS;
  const run = (words: string[], timeoutMs = stepMs) => host.run(words, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
  const nproc = await run(['nproc']);
  const cpus = Number(nproc.stdout.trim());
  if (nproc.exitCode !== 0 || nproc.timedOut) throw new ProbeFailure(describeStepFailure('nproc', nproc, stepMs));
  if (!Number.isInteger(cpus) || cpus < 1) throw new ProbeFailure(`nproc printed ${JSON.stringify(printable(nproc.stdout, 80))}, not a CPU count`);
  const version = await run([options.qemuBinary, '--version']);
  if (version.timedOut || version.loginShell?.startMs === null) throw new ProbeFailure(describeStepFailure(`${options.qemuBinary} --version`, version, stepMs));
  if (version.exitCode !== 0) {
    const missing = version.exitCode === 127 || /not found|No such file/i.test(version.stderr) ? 'qemu-missing: ' : '';
    throw new ProbeFailure(`${missing}${options.qemuBinary} does not run there (exit ${version.exitCode ?? version.signal}: ${printable(firstLine(version.stderr), 200) || 'no output'}); install qemu (Debian: qemu-system-x86) or name the binary with --qemu-cmd`);
  }
  const mkdir = await run(['mkdir', '-p', '--', options.remoteDir]);
  if (mkdir.exitCode !== 0) throw new ProbeFailure(`cannot create --remote-dir ${options.remoteDir}: ${describeStepFailure('mkdir', mkdir, stepMs)}`);
  const df = await run(['df', '-Pk', '--', options.remoteDir]);
  const available = Number(df.stdout.trim().split('\n')[1]?.trim().split(/\s+/)[3]);
  if (df.exitCode !== 0) throw new ProbeFailure(describeStepFailure(`df ${options.remoteDir}`, df, stepMs));
  if (!Number.isFinite(available)) throw new ProbeFailure(`df ${options.remoteDir} printed no free-space figure: ${printable(df.stdout, 200)}`);
  const accel = host.name === LOCALHOST
    ? await probeAccel(options.accel, { qemuCmd: options.qemuBinary })
    : await probeRemoteAccel(host, options, run);
  if (!accel.usable) throw new ProbeFailure(accel.reason);
  return {
    cpus,
    accel: accel.accel,
    accelReason: accel.reason,
    freeBytes: available * 1024,
    qemuVersion: printable(firstLine(version.stdout), 120),
    elapsedMs: Date.now() - started,
    ...(nproc.loginShell ? { loginShell: nproc.loginShell } : {}),
  };
}

/** chooseAccel's rule, its guests run over the host's connection with the verdict on the serial port (stdout). */
async function probeRemoteAccel(host: Host, options: ProbeHostOptions, run: (words: string[], timeoutMs?: number) => ReturnType<Host['run']>): Promise<AccelChoice> {
  if (options.accel === 'tcg') return TCG_REQUESTED;
  const payload = `${options.remoteDir}/probe.img`;
  const put = await host.putStream(payload, probePayload(), { timeoutMs: STEP_MS });
  if (put.exitCode !== 0) throw new ProbeFailure(`cannot write the probe guest to ${payload}: ${firstLine(put.stderr)}`);
  return chooseAccel(options.accel, async (accel, limitMs) => {
    const result = await run([options.qemuBinary, ...probeGuestArgs(accel, payload, 'stdio')], limitMs);
    if (result.timedOut) return { ok: false, ms: result.durationMs, why: `did not finish within ${(limitMs / 1000).toFixed(2)} s` };
    if (result.exitCode === PROBE_EXIT_STATUS && result.stdout.includes(PROBE_OK)) return { ok: true, ms: result.durationMs, why: '' };
    const why = result.stderr.split('\n').find((l) => l.trim() !== '' && !/warning:/.test(l));
    return { ok: false, ms: result.durationMs, why: `exited with ${result.exitCode ?? result.signal}${why ? `: ${why.trim()}` : ''}` };
  });
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}
