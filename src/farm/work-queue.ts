import { firstFitDecreasing } from '../plan/pack.js';
import type { ScenarioInstance } from '../scenarios/types.js';

/** An instance waiting for a host, with the hosts it was lost on (taken elsewhere when possible). */
export interface PendingInstance {
  instance: ScenarioInstance;
  avoidHosts: readonly string[];
}

/** What the queue needs to know about the host asking for work and the rest of the fleet. */
export interface Taker {
  host: string;
  cpus: number;
  /** CPUs of the widest host usable now (this one included): wider instances go to it, squeezed. */
  widestCpus: number;
  /** True when some other usable host could take an instance this host should avoid. */
  othersUsable: boolean;
}

/**
 * The run's one queue of instances not yet started: whichever host has room takes
 * its next batch from it, packed first-fit decreasing by that host's own CPU count,
 * as kvm.sh packs one batch. Pure bookkeeping: no host is contacted here.
 */
export class WorkQueue {
  private readonly pending: PendingInstance[] = [];
  /** Queued instances whose kernel is still being built: no host takes them yet. */
  private readonly held = new Set<string>();

  /** `held`: instances that wait for their kernel (see release). */
  constructor(instances: readonly ScenarioInstance[] = [], held: Iterable<string> = []) {
    for (const instance of instances) this.pending.push({ instance, avoidHosts: [] });
    for (const id of held) this.held.add(id);
  }

  /** The instance's kernel is there: hosts may take it. */
  release(id: string): void {
    this.held.delete(id);
  }

  /** Instances queued whose kernel is not there yet. */
  get waiting(): number {
    return this.pending.filter((p) => this.held.has(p.instance.id)).length;
  }

  get size(): number {
    return this.pending.length;
  }

  /** CPUs the pending instances want in all: the progress estimate's input. */
  get cpus(): number {
    return this.pending.reduce((n, p) => n + p.instance.cpus, 0);
  }

  ids(): string[] {
    return this.pending.map((p) => p.instance.id);
  }

  add(instance: ScenarioInstance, avoidHosts: readonly string[] = []): void {
    this.pending.push({ instance, avoidHosts });
  }

  /** Takes an instance off the queue (it was judged from an earlier attempt after all); true if it was there. */
  remove(id: string): boolean {
    const at = this.pending.findIndex((p) => p.instance.id === id);
    if (at >= 0) this.pending.splice(at, 1);
    return at >= 0;
  }

  /** Empties the queue (interrupt, no host left): the caller judges what was left. */
  drain(): PendingInstance[] {
    this.held.clear();
    return this.pending.splice(0);
  }

  /**
   * The next batch for `taker`, removed from the queue; empty when nothing suits it.
   * An instance waits for its kernel; one wider than this host waits for a wider one, unless none is usable;
   * an instance lost on this host waits for another host while one is usable.
   */
  take(taker: Taker): ScenarioInstance[] {
    const suits = this.pending.filter((p) => !this.held.has(p.instance.id) &&
      (p.instance.cpus <= taker.cpus || taker.cpus >= taker.widestCpus) &&
      !(taker.othersUsable && p.avoidHosts.includes(taker.host)));
    if (suits.length === 0) return [];
    const [first] = firstFitDecreasing(suits.map((p) => p.instance), taker.cpus);
    const chosen = new Set(first!.instances.map((x) => x.id));
    for (let i = this.pending.length - 1; i >= 0; i--) if (chosen.has(this.pending[i]!.instance.id)) this.pending.splice(i, 1);
    return first!.instances;
  }
}
