/**
 * What builds where, decided in one place and pure (plain data in, plain data out),
 * unit-tested on inline data as the planner is. The build farm and kvm-remote only
 * carry these decisions out.
 */

/** `--build-on`: build on the farm's hosts, or here as kvm-run does. */
export type BuildOn = 'hosts' | 'here';

/** A host as the build policy sees it. */
export interface BuilderView {
  name: string;
  cpus: number;
  /** The probe found every tool, header and the disk a build needs. */
  canBuild: boolean;
  /** First line of the compiler's --version there. */
  compiler: string;
  /** Why the probe said no; kept for the log line. */
  why?: string;
}

export interface BuilderChoice {
  buildOn: BuildOn;
  /** Hosts that build, widest first: a build runs with -j its CPUs, so the widest finishes first. */
  builders: string[];
  /** Hosts that only run guests, each with the reason. */
  guestsOnly: { name: string; why: string }[];
}

/**
 * Who builds. A host builds when its probe says it can and its compiler is the one
 * this machine configured with: the .config records the compiler (CONFIG_CC_VERSION_TEXT,
 * CONFIG_GCC_VERSION), so a kernel from another compiler would neither match the
 * local .config nor belong under its cache key; kernels of different compilers are
 * never mixed. `--build-on hosts` is the default when at least one host can build.
 */
export function chooseBuilders(requested: BuildOn | undefined, hosts: readonly BuilderView[], localCompiler: string): BuilderChoice {
  const guestsOnly: { name: string; why: string }[] = [];
  const able: BuilderView[] = [];
  for (const h of hosts) {
    if (!h.canBuild) guestsOnly.push({ name: h.name, why: h.why || 'cannot build' });
    else if (h.compiler !== localCompiler) guestsOnly.push({ name: h.name, why: `its compiler "${h.compiler}" is not this machine's "${localCompiler}"` });
    else able.push(h);
  }
  if (requested === 'here' || able.length === 0) {
    return { buildOn: 'here', builders: [], guestsOnly: requested === 'here' ? hosts.map((h) => ({ name: h.name, why: '--build-on here' })) : guestsOnly };
  }
  able.sort((a, b) => b.cpus - a.cpus || (a.name < b.name ? -1 : 1));
  return { buildOn: 'hosts', builders: able.map((h) => h.name), guestsOnly };
}

/** A kernel waiting for a builder, with the hosts it was lost on. */
export interface PendingBuild {
  key: string;
  avoidHosts: readonly string[];
}

/**
 * The next build for an idle builder: the first waiting build not lost on this host
 * (a build lost on every live builder may come back to one of them).
 */
export function nextBuildFor(host: string, pending: readonly PendingBuild[], liveBuilders: readonly string[]): PendingBuild | undefined {
  return pending.find((b) => !b.avoidHosts.includes(host))
    ?? pending.find((b) => liveBuilders.every((h) => b.avoidHosts.includes(h)));
}

/**
 * Where a build goes once no host can take it: back here, as kvm-run would build it,
 * after `maxHostAttempts` lost hosts or once no builder is left.
 */
export function buildHereAfterLoss(attempts: number, liveBuilders: number, maxHostAttempts: number): boolean {
  return liveBuilders === 0 || attempts >= maxHostAttempts;
}

/** An idle host as the policy sees it when it asks for its next job. */
export interface IdleHost {
  name: string;
  /** It builds this run (chosen by chooseBuilders and not lost). */
  builder: boolean;
  /** It is building now (a build is a whole host's job, -j its CPUs). */
  building: boolean;
}

/**
 * A host's next job, builds and batches alike: a host that is building takes nothing
 * else; a builder takes the next waiting build before any batch, since guests wait
 * for kernels and a build unlocks more work than a batch; otherwise the host takes its
 * next batch of instances whose kernels exist (the scheduler packs it).
 */
export function nextJobFor(host: IdleHost, pending: readonly PendingBuild[], liveBuilders: readonly string[]): { kind: 'busy' } | { kind: 'build'; build: PendingBuild } | { kind: 'batch' } {
  if (host.building) return { kind: 'busy' };
  const build = host.builder ? nextBuildFor(host.name, pending, liveBuilders) : undefined;
  return build ? { kind: 'build', build } : { kind: 'batch' };
}
