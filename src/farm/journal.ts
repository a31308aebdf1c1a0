import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import path from 'node:path';
import { readTextInside } from '../rundir/safe-read.js';
import { isInstanceId } from '../rundir/files.js';
import { VERDICT_KINDS } from '../report/totals.js';
import type { VerdictKind } from '../analyze/types.js';
import { printable } from '../util/printable.js';
import { KvmFarmError } from '../util/errors.js';

/** The run directory's journal: one JSON object a line, appended as things happen, never rewritten. */
export const JOURNAL_FILE = 'journal';
const VERSION = 1;
/** A journal is small (a few lines per instance); anything far bigger is not ours. */
const MAX_JOURNAL_BYTES = 64 * 1024 * 1024;

/** Everything a resumed coordinator needs to pick the run up: written once, first. */
export interface JournalStart {
  runName: string;
  hosts: { name: string; tag: string }[];
  remoteDir: string;
  retries: number;
  minHosts: number;
  gatherTimeoutMs: number;
  lostGraceMs: number;
  durationSeconds: number;
  shutdownGraceSeconds: number;
  bootTimeoutSeconds: number;
  suite: string;
  sourceRunDir: string;
  accel: string;
  keepRemote: boolean;
  instances: { id: string; scenario: string; cpus: number }[];
}

export type JournalRecord =
  | ({ t: 'start' } & JournalStart)
  | { t: 'batch'; number: number; host: string; instances: string[] }
  | { t: 'placed'; instance: string; attempt: number; host: string; token: string; bootId?: string }
  | { t: 'ended'; instance: string; attempt: number; host: string }
  | { t: 'judged'; instance: string; attempt: number; host: string; verdict: VerdictKind }
  | { t: 'extra'; instance: string; attempt: number; host: string }
  | { t: 'lost'; instance: string; attempt: number; host: string }
  | { t: 'done' };

/** Appends records; each line is written with one write and flushed, so a kill -9 loses at most the line being written. */
export class Journal {
  readonly file: string;

  constructor(runDir: string) {
    this.file = path.join(runDir, JOURNAL_FILE);
  }

  write(record: JournalRecord): void {
    appendFileSync(this.file, `${JSON.stringify({ v: VERSION, at: new Date().toISOString(), ...record })}\n`);
    // The point of a journal is to outlive the coordinator: make the line durable before going on.
    const fd = openSync(this.file, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** One placement of an instance, as the journal tells it. */
export interface JournalAttempt {
  instance: string;
  attempt: number;
  host: string;
  token: string;
  bootId?: string;
  /** ms since the epoch: deadlines of a followed guest count from here. */
  placedAt: number;
  outcome: 'running' | 'ended' | 'judged' | 'lost' | 'extra';
  verdict?: VerdictKind;
  /** ms since the epoch the attempt was written off as lost: what its guest ran for nothing. */
  lostAt?: number;
}

export interface JournalState {
  start: JournalStart;
  batches: { number: number; host: string; instances: string[] }[];
  attempts: JournalAttempt[];
  done: boolean;
}

/**
 * Reads a journal back. It is untrusted input (a run directory can come from
 * anywhere): every field is checked for type and range, instance ids must be plain
 * names from the run's own list, hosts must be the run's hosts, and attempts must be
 * placed before they end. A torn last line (the coordinator killed mid-write) is
 * ignored; any other bad line is an error naming it.
 */
export function readJournal(runDir: string): JournalState {
  const text = readTextInside(runDir, JOURNAL_FILE, MAX_JOURNAL_BYTES);
  if (text === undefined) throw new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `${printable(runDir)} has no ${JOURNAL_FILE}: it is not a kvm-remote run that can be resumed`);
  const lines = text.split('\n');
  const torn = !text.endsWith('\n');
  let state: JournalState | undefined;
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    const where = `${printable(runDir)}/${JOURNAL_FILE} line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (torn && index === lines.length - 1) break;
      throw bad(where, 'not JSON');
    }
    state = apply(state, value, where);
  }
  if (!state) throw bad(`${printable(runDir)}/${JOURNAL_FILE}`, 'empty');
  return state;
}

function apply(state: JournalState | undefined, value: unknown, where: string): JournalState {
  const r = object(value, where);
  if (r.v !== VERSION) throw bad(where, `version ${printable(String(r.v))} is not ${VERSION}`);
  const t = r.t;
  if (!state) {
    if (t !== 'start') throw bad(where, 'the first record is not the start');
    return { start: readStart(r, where), batches: [], attempts: [], done: false };
  }
  const ids = new Set(state.start.instances.map((x) => x.id));
  const hosts = new Set(state.start.hosts.map((h) => h.name));
  const instance = (): string => {
    const id = str(r.instance, where, 'instance');
    if (!ids.has(id)) throw bad(where, `instance "${printable(id)}" is not in the run`);
    return id;
  };
  const host = (): string => {
    const h = str(r.host, where, 'host');
    if (!hosts.has(h)) throw bad(where, `host "${printable(h)}" is not in the run`);
    return h;
  };
  const attemptOf = (): JournalAttempt => {
    const id = instance();
    const n = int(r.attempt, where, 'attempt', 1, 1000);
    const found = state.attempts.find((a) => a.instance === id && a.attempt === n);
    if (!found) throw bad(where, `${printable(id)} attempt ${n} was never placed`);
    if (found.host !== host()) throw bad(where, `${printable(id)} attempt ${n} was placed on ${found.host}`);
    return found;
  };
  switch (t) {
    case 'batch': {
      const list = arr(r.instances, where, 'instances').map((x) => str(x, where, 'instances'));
      for (const id of list) if (!ids.has(id)) throw bad(where, `instance "${printable(id)}" is not in the run`);
      state.batches.push({ number: int(r.number, where, 'number', 1, 1_000_000), host: host(), instances: list });
      return state;
    }
    case 'placed': {
      const id = instance();
      const n = int(r.attempt, where, 'attempt', 1, 1000);
      if (state.attempts.some((a) => a.instance === id && a.attempt === n)) throw bad(where, `${printable(id)} attempt ${n} placed twice`);
      const token = str(r.token, where, 'token');
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(token)) throw bad(where, 'token is not a plain word');
      const bootId = r.bootId === undefined ? undefined : str(r.bootId, where, 'bootId');
      if (bootId !== undefined && !/^[0-9a-f-]{36}$/.test(bootId)) throw bad(where, 'bootId is not a boot_id');
      const placedAt = Date.parse(str(r.at, where, 'at'));
      if (!Number.isFinite(placedAt)) throw bad(where, 'at is not a time');
      state.attempts.push({ instance: id, attempt: n, host: host(), token, ...(bootId ? { bootId } : {}), placedAt, outcome: 'running' });
      return state;
    }
    case 'ended':
      attemptOf().outcome = 'ended';
      return state;
    case 'lost': {
      const a = attemptOf();
      a.outcome = 'lost';
      const at = Date.parse(String(r.at));
      if (Number.isFinite(at)) a.lostAt = at;
      return state;
    }
    case 'judged': {
      const a = attemptOf();
      const kind = str(r.verdict, where, 'verdict');
      if (!(VERDICT_KINDS as readonly string[]).includes(kind)) throw bad(where, `verdict "${printable(kind)}" is not a verdict`);
      a.outcome = t;
      a.verdict = kind as VerdictKind;
      return state;
    }
    case 'extra':
      attemptOf().outcome = 'extra';
      return state;
    case 'done':
      state.done = true;
      return state;
    default:
      throw bad(where, `unknown record "${printable(String(t))}"`);
  }
}

function readStart(r: Record<string, unknown>, where: string): JournalStart {
  const runName = str(r.runName, where, 'runName');
  if (!isInstanceId(runName) && !/^[A-Za-z0-9._-]{1,200}$/.test(runName)) throw bad(where, 'runName is not a plain name');
  const hosts = arr(r.hosts, where, 'hosts').map((h) => {
    const o = object(h, where);
    const tag = str(o.tag, where, 'tag');
    if (!/^[0-9a-f]{16}$/.test(tag)) throw bad(where, 'a host tag is not 16 hex digits');
    return { name: str(o.name, where, 'host name'), tag };
  });
  if (hosts.length === 0) throw bad(where, 'no hosts');
  const instances = arr(r.instances, where, 'instances').map((x) => {
    const o = object(x, where);
    const id = str(o.id, where, 'instance id');
    if (!isInstanceId(id)) throw bad(where, `instance "${printable(id)}" is not a plain name`);
    return { id, scenario: str(o.scenario, where, 'scenario'), cpus: int(o.cpus, where, 'cpus', 1, 65536) };
  });
  return {
    runName,
    hosts,
    remoteDir: str(r.remoteDir, where, 'remoteDir'),
    retries: int(r.retries, where, 'retries', 0, 100),
    minHosts: int(r.minHosts, where, 'minHosts', 1, 10000),
    gatherTimeoutMs: int(r.gatherTimeoutMs, where, 'gatherTimeoutMs', 1, 86_400_000),
    lostGraceMs: int(r.lostGraceMs, where, 'lostGraceMs', 0, 86_400_000),
    durationSeconds: int(r.durationSeconds, where, 'durationSeconds', 1, 20 * 86_400),
    shutdownGraceSeconds: int(r.shutdownGraceSeconds, where, 'shutdownGraceSeconds', 0, 2 * 86_400),
    bootTimeoutSeconds: int(r.bootTimeoutSeconds, where, 'bootTimeoutSeconds', 1, 86_400),
    suite: str(r.suite, where, 'suite'),
    sourceRunDir: str(r.sourceRunDir, where, 'sourceRunDir'),
    accel: str(r.accel, where, 'accel'),
    keepRemote: r.keepRemote === true,
    instances,
  };
}

function bad(where: string, why: string): KvmFarmError {
  return new KvmFarmError('KVMFARM_NOT_A_RUNDIR', `${where}: ${why}; the journal cannot be trusted, so the run cannot be resumed`);
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(where, 'not an object');
  return value as Record<string, unknown>;
}

function str(value: unknown, where: string, what: string): string {
  if (typeof value !== 'string' || value.length > 4096) throw bad(where, `${what} is not a short string`);
  return value;
}

function int(value: unknown, where: string, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw bad(where, `${what} is not a whole number from ${min} to ${max}`);
  return value;
}

function arr(value: unknown, where: string, what: string): unknown[] {
  if (!Array.isArray(value) || value.length > 100_000) throw bad(where, `${what} is not a list`);
  return value;
}
