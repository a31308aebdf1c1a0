import { objectName, type ManifestEntry, type SourceManifest } from './source-manifest.js';

/** What a host must receive to hold a tree: the objects it lacks, and how to turn its base tree into the new one. */
export interface SourceShipPlan {
  /** Nothing to do: the host holds this tree already. */
  held: boolean;
  /** The tree the host starts from (hard-link copy), when it holds one we know. */
  base?: string;
  /** One entry per object to send (each content once). */
  objects: ManifestEntry[];
  /** Paths of the base tree to remove before the new entries go in (gone or changed). */
  remove: string[];
  /** Entries to create in the new tree (new or changed). */
  add: ManifestEntry[];
}

/**
 * Pure: from the new manifest, the trees and objects a host holds and the manifests
 * this machine kept, what to send. The base is the held tree sharing the most
 * entries with the new one, so a one-file change sends one object and two names.
 */
export function planSourceShip(
  manifest: Pick<SourceManifest, 'id' | 'entries'>,
  host: { trees: ReadonlySet<string>; objects: ReadonlySet<string> },
  known: ReadonlyMap<string, readonly ManifestEntry[]>,
): SourceShipPlan {
  if (host.trees.has(manifest.id)) return { held: true, objects: [], remove: [], add: [] };
  const key = (e: ManifestEntry): string => `${e.kind}\0${e.hash}`;
  const wanted = new Map(manifest.entries.map((e) => [e.path, key(e)]));
  let base: { id: string; entries: readonly ManifestEntry[]; shared: number } | undefined;
  for (const [id, entries] of known) {
    if (!host.trees.has(id)) continue;
    const shared = entries.reduce((n, e) => n + (wanted.get(e.path) === key(e) ? 1 : 0), 0);
    if (!base || shared > base.shared) base = { id, entries, shared };
  }
  const had = new Map((base?.entries ?? []).map((e) => [e.path, key(e)]));
  const remove = (base?.entries ?? []).filter((e) => wanted.get(e.path) !== key(e)).map((e) => e.path);
  const add = manifest.entries.filter((e) => had.get(e.path) !== key(e));
  const objects = new Map<string, ManifestEntry>();
  for (const e of add) {
    if (e.kind === 'link') continue;
    const name = objectName(e);
    if (!host.objects.has(name) && !objects.has(name)) objects.set(name, e);
  }
  return { held: false, ...(base ? { base: base.id } : {}), objects: [...objects.values()], remove, add };
}
