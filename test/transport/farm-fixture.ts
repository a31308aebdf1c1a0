import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { type SshHostOptions, connectSshHost, type SshHost } from '../../src/transport/index.js';
import { requireReal } from '../helpers/require.js';
import { type Farm, type FarmOptions, cleanupStaleFarms, createFarm } from './farm.js';

/**
 * Starts a farm before the file's tests and tears everything down after them, even
 * when a test failed; hosts connected through `connect` are closed first. Without
 * root, sshd or the network tools, or when the farm does not start, every test fails.
 */
export function useFarm(options: FarmOptions): { farm: () => Farm; connect: (spec: string, extra?: SshHostOptions) => Promise<SshHost>; writeConfig: (name: string, text: string) => string } {
  let farm: Farm | undefined;
  const open: SshHost[] = [];
  requireReal('farm').beforeAll(async () => {
    await cleanupStaleFarms();
    farm = await createFarm(options);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((host) => host.close()));
    await farm?.destroy();
  }, 30_000);
  const get = (): Farm => {
    if (!farm) throw new Error('farm not started');
    return farm;
  };
  return {
    farm: get,
    async connect(spec, extra = {}) {
      const host = await connectSshHost(spec, { configFile: get().configFile, agent: null, ...extra });
      open.push(host);
      return host;
    },
    /** Writes another client config beside the farm's; `text` may use the farm's own as a base. */
    writeConfig(name, text) {
      const file = join(get().dir, name);
      writeFileSync(file, text);
      return file;
    },
  };
}

export function farmConfigText(farm: Farm): string {
  return readFileSync(farm.configFile, 'utf8');
}
