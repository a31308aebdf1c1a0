import type { ScenarioInstance } from '../scenarios/types.js';
import type { Batch } from './types.js';

type Bin = { instances: ScenarioInstance[]; free: number };

/** Largest first, as kvm.sh sorts; ties keep their order so plans are repeatable. */
function largestFirst(instances: ScenarioInstance[]): ScenarioInstance[] {
  return instances
    .map((instance, index) => ({ instance, index }))
    .sort((a, b) => b.instance.cpus - a.instance.cpus || a.index - b.index)
    .map(({ instance }) => instance);
}

/**
 * kvm.sh's packing: fill one batch at a time, taking every remaining instance
 * (largest first) that still fits. That is first-fit decreasing; an instance
 * wider than the machine gets a batch of its own.
 */
export function firstFitDecreasing(instances: ScenarioInstance[], cpus: number): Bin[] {
  const bins: Bin[] = [];
  for (const instance of largestFirst(instances)) {
    const bin = bins.find((b) => b.free > 0 && b.free >= instance.cpus);
    if (bin) {
      bin.instances.push(instance);
      bin.free -= instance.cpus;
    } else {
      bins.push({ instances: [instance], free: cpus - instance.cpus });
    }
  }
  return bins;
}

/** Best-fit decreasing: the batch left with the least room. Sometimes one batch fewer. */
export function bestFitDecreasing(instances: ScenarioInstance[], cpus: number): Bin[] {
  const bins: Bin[] = [];
  for (const instance of largestFirst(instances)) {
    let best: Bin | undefined;
    for (const bin of bins) {
      if (bin.free >= instance.cpus && bin.free > 0 && (!best || bin.free < best.free)) best = bin;
    }
    if (best) {
      best.instances.push(instance);
      best.free -= instance.cpus;
    } else {
      bins.push({ instances: [instance], free: cpus - instance.cpus });
    }
  }
  return bins;
}

/**
 * An exact search for fewer batches than the heuristics found, within a node
 * budget so a long scenario list never stalls planning. Branches skip bins with
 * the same room left, which are interchangeable.
 */
export function searchFewerBins(instances: ScenarioInstance[], cpus: number, bestSoFar: number, budget = 200_000): Bin[] | undefined {
  const items = largestFirst(instances);
  const total = items.reduce((sum, x) => sum + x.cpus, 0);
  const lowerBound = Math.ceil(total / cpus);
  if (bestSoFar <= lowerBound) return undefined;
  let nodes = 0;
  let found: Bin[] | undefined;
  const bins: Bin[] = [];
  const place = (i: number, limit: number): boolean => {
    if (++nodes > budget) return false;
    if (i === items.length) {
      found = bins.map((b) => ({ instances: [...b.instances], free: b.free }));
      return true;
    }
    const item = items[i]!;
    const tried = new Set<number>();
    for (const bin of bins) {
      if (bin.free < item.cpus || tried.has(bin.free)) continue;
      tried.add(bin.free);
      bin.instances.push(item);
      bin.free -= item.cpus;
      const done = place(i + 1, limit);
      bin.free += item.cpus;
      bin.instances.pop();
      if (done) return true;
    }
    if (bins.length < limit) {
      bins.push({ instances: [item], free: cpus - item.cpus });
      const done = place(i + 1, limit);
      bins.pop();
      if (done) return true;
    }
    return false;
  };
  // Try the lower bound first, then each count up to one fewer than we have.
  for (let limit = lowerBound; limit < bestSoFar && nodes <= budget; limit++) {
    if (place(0, limit)) return found;
  }
  return undefined;
}

/**
 * Packs instances into batches that fit `cpus`. Every batch runs for the whole
 * duration, so fewer batches is a shorter run: take the best of first-fit (kvm.sh's
 * packing), best-fit and a bounded exact search, so never worse than kvm.sh.
 * An instance wider than the machine runs alone, flagged overflow.
 */
export function packBatches(instances: ScenarioInstance[], cpus: number): Batch[] {
  if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`cannot pack into ${cpus} CPUs`);
  const wide = instances.filter((x) => x.cpus > cpus);
  const fitting = instances.filter((x) => x.cpus <= cpus);
  const ffd = firstFitDecreasing(fitting, cpus);
  const bfd = bestFitDecreasing(fitting, cpus);
  let bins = bfd.length < ffd.length ? bfd : ffd;
  bins = searchFewerBins(fitting, cpus, bins.length) ?? bins;
  // Fullest batches first, so the widest guests start while the machine is freshest.
  bins.sort((a, b) => a.free - b.free);
  const all = [...largestFirst(wide).map((x) => ({ instances: [x], free: cpus - x.cpus })), ...bins];
  return all.map((bin, i) => {
    const used = bin.instances.reduce((sum, instance) => sum + instance.cpus, 0);
    return { number: i + 1, instances: bin.instances, cpus: used, overflow: used > cpus };
  });
}
