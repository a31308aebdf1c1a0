import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';
import type { Host } from '../transport/index.js';
import { objectName, type ManifestEntry, type SourceManifest } from './source-manifest.js';
import { planSourceShip } from './source-plan.js';
import { replaceFile } from '../util/replace-file.js';

/** A host's source area: `objects/<sha256>[.x]` (content, kept between runs) and `trees/<manifest id>/` (hard links to them). */
export interface SourcePaths {
  root: string;
}

export function sourceRoot(remoteDir: string): SourcePaths {
  return { root: path.posix.join(remoteDir, 'src') };
}

export function remoteTree(paths: SourcePaths, id: string): string {
  return path.posix.join(paths.root, 'trees', id);
}

export interface SourceShipReport {
  tree: string;
  /** Bytes of the stream sent (objects, names, headers); 0 when the host held the tree. */
  bytes: number;
  objects: number;
  /** Time from asking the host what it holds to knowing what to send. */
  decideMs: number;
  shipMs: number;
  base?: string;
}

/**
 * Receives a source shipment and materializes the tree in one exec. Every object's
 * content must hash to its name before it enters the store; the tree is a hard-link
 * copy of the base (or empty), minus the removed names, plus the new entries (hard
 * links to objects, symlinks), made under a temporary name and renamed into place.
 * A fixed script: $1 source root, $2 tree id, $3 base id or empty, $4 nonce.
 */
const RECEIVE_SOURCE =
  'r=$1; in=$r/incoming-$4; tmp=$r/trees/.$2.$4; ' +
  'mkdir -p -- "$r/objects" "$r/trees" "$in" && cd "$in" && tar -x -f - --no-same-owner || exit 1; ' +
  'if [ -d objects ]; then ' +
  '(cd objects && find . -type f -print0 | xargs -0 -r sha256sum) | ' +
  'awk \'{n=$2; sub(/^\\.\\//,"",n); h=n; sub(/\\.x$/,"",h); if (h != $1) {print "content of " n " hashes to " $1 > "/dev/stderr"; bad=1; exit}} END {exit bad ? 3 : 0}\' || exit 3; ' +
  'find objects -type f -name "*.x" -exec chmod 0555 {} + && find objects -type f ! -name "*.x" -exec chmod 0444 {} + && ' +
  'find objects -type f -exec mv -f -t "$r/objects" {} + || exit 1; fi; ' +
  'if [ -n "$3" ]; then cp -al -- "$r/trees/$3" "$tmp" || exit 1; else mkdir -p -- "$tmp" || exit 1; fi; ' +
  'if [ -s remove ]; then (cd "$tmp" && xargs -0 -r rm -f -- < "$in/remove") || exit 1; fi; ' +
  'if [ -s links.tar.gz ]; then tar -x -z -f links.tar.gz -C "$r" || exit 1; fi; ' +
  'if [ -d "$r/trees/$2" ]; then rm -rf -- "$tmp"; else mv -- "$tmp" "$r/trees/$2" || exit 1; fi; ' +
  'cd "$r" && rm -rf -- "$in"';

/** Every object's mtime: a fixed past time, so a fresh build directory is always newer than its sources. */
const SOURCE_MTIME = new Date('2000-01-01T00:00:00Z');
const QUERY_MS = 60_000;

/**
 * Makes sure `host` holds the tree of `manifest` and returns where. Asks the host
 * which trees and objects it holds, sends only the objects it lacks plus the names
 * that differ from the closest tree it holds, in one tar stream.
 */
export async function shipSource(host: Host, paths: SourcePaths, manifest: SourceManifest, options: {
  /** Local directory of manifests shipped before (a base for the next tree). */
  stateDir: string;
  treeDir: string;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<SourceShipReport> {
  const started = Date.now();
  const tree = remoteTree(paths, manifest.id);
  await keepManifest(options.stateDir, manifest);
  const signal = options.signal ? { signal: options.signal } : {};
  const trees = await listNames(host, path.posix.join(paths.root, 'trees'), signal);
  if (trees.has(manifest.id)) return { tree, bytes: 0, objects: 0, decideMs: Date.now() - started, shipMs: 0 };
  const objects = await listNames(host, path.posix.join(paths.root, 'objects'), signal);
  const known = await knownManifests(options.stateDir, trees);
  const plan = planSourceShip(manifest, { trees, objects }, known);
  const decideMs = Date.now() - started;
  const nonce = randomBytes(6).toString('hex');
  const child = await host.spawn(['sh', '-c', RECEIVE_SOURCE, 'sh', paths.root, manifest.id, plan.base ?? '', nonce], { timeoutMs: options.timeoutMs, ...signal });
  // Made only once the receiver is there and counted inside the pipe: a 'data' listener
  // on the stream itself would start it flowing and drop what comes before the pipe.
  const stream = Readable.from(sourceStream(plan, options.treeDir, `trees/.${manifest.id}.${nonce}`));
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const stderr: Buffer[] = [];
  child.stdout.resume();
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  stream.on('error', (error) => child.stdin.destroy(error));
  stream.pipe(counter).pipe(child.stdin);
  const status = await child.exited;
  if (status.exitCode !== 0) {
    const why = Buffer.concat(stderr).toString().trim().split('\n')[0] || 'no message';
    throw new Error(`receiving the kernel source into ${paths.root} ended with ${status.exitCode ?? status.signal}: ${why}`);
  }
  return { tree, bytes, objects: plan.objects.length, decideMs, shipMs: Date.now() - started - decideMs, ...(plan.base ? { base: plan.base } : {}) };
}

/** The tar stream: objects/<name> for each object, `remove` (NUL-separated names), `links.tar.gz` (the new entries). */
async function* sourceStream(plan: ReturnType<typeof planSourceShip>, treeDir: string, tmpTree: string): AsyncGenerator<Buffer> {
  for (const e of plan.objects) {
    const content = await readFile(path.join(treeDir, e.path));
    yield header({ path: `objects/${objectName(e)}`, type: 'File', size: content.length, mode: e.kind === 'exec' ? 0o555 : 0o444 });
    yield content;
    yield padding(content.length);
  }
  if (plan.remove.length > 0) yield* fileEntry('remove', Buffer.from(plan.remove.map((p) => `${p}\0`).join('')));
  if (plan.add.length > 0) {
    const links: Buffer[] = plan.add.map((e) => e.kind === 'link'
      ? header({ path: `${tmpTree}/${e.path}`, type: 'SymbolicLink', linkpath: e.hash, size: 0, mode: 0o777 })
      : header({ path: `${tmpTree}/${e.path}`, type: 'Link', linkpath: `objects/${objectName(e)}`, size: 0, mode: e.kind === 'exec' ? 0o555 : 0o444 }));
    links.push(Buffer.alloc(1024));
    // Headers only (~80k of them for a whole tree): they compress about 20-fold.
    yield* fileEntry('links.tar.gz', gzipSync(Buffer.concat(links), { level: 6 }));
  }
  yield Buffer.alloc(1024);
}

function* fileEntry(name: string, content: Buffer): Generator<Buffer> {
  yield header({ path: name, type: 'File', size: content.length, mode: 0o644 });
  yield content;
  yield padding(content.length);
}

function header(fields: { path: string; type: 'File' | 'Link' | 'SymbolicLink'; size: number; mode: number; linkpath?: string }): Buffer {
  const h = new Header({ ...fields, mtime: SOURCE_MTIME, uid: 0, gid: 0 });
  const needPax = h.encode();
  if (!needPax) return h.block!;
  const pax = new Pax({ path: fields.path, ...(fields.linkpath !== undefined ? { linkpath: fields.linkpath } : {}), mtime: SOURCE_MTIME }, false).encode();
  return Buffer.concat([pax, h.block!]);
}

function padding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

async function listNames(host: Host, dir: string, signal: { signal?: AbortSignal }): Promise<Set<string>> {
  const result = await host.run(['ls', '-1A', '--', dir], { timeoutMs: QUERY_MS, ...signal });
  return new Set(result.exitCode === 0 ? result.stdout.split('\n').filter((l) => /^[0-9a-f]{64}(\.x)?$/.test(l)) : []);
}

async function keepManifest(stateDir: string, manifest: SourceManifest): Promise<void> {
  const file = path.join(stateDir, 'manifests', `${manifest.id}.json`);
  if (existsSync(file)) return;
  await mkdir(path.dirname(file), { recursive: true });
  // Several hosts are sent the same tree at once: replaceFile gives each its own temporary file.
  await replaceFile(file, JSON.stringify(manifest.entries));
}

/** The manifests kept here of trees the host holds: the newest few, as candidate bases. */
async function knownManifests(stateDir: string, trees: ReadonlySet<string>): Promise<Map<string, ManifestEntry[]>> {
  const dir = path.join(stateDir, 'manifests');
  const found: { id: string; mtime: number }[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const id = name.replace(/\.json$/, '');
    if (trees.has(id)) found.push({ id, mtime: (await stat(path.join(dir, name))).mtimeMs });
  }
  found.sort((a, b) => b.mtime - a.mtime);
  const known = new Map<string, ManifestEntry[]>();
  for (const { id } of found.slice(0, 3)) {
    try {
      known.set(id, JSON.parse(await readFile(path.join(dir, `${id}.json`), 'utf8')) as ManifestEntry[]);
    } catch {
      // A damaged manifest is no base.
    }
  }
  return known;
}
