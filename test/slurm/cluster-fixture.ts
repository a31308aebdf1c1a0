import { afterAll } from 'vitest';
import { requireReal } from '../helpers/require.js';
import { type Cluster, type NodeSpec, cleanupStaleClusters, createCluster } from './cluster.js';

/**
 * Starts a Slurm cluster before the file's tests and tears it down after them, even
 * when a test failed. Without root or Slurm's packages every test fails with the
 * package to install.
 */
export function useCluster(nodes: NodeSpec[]): () => Cluster {
  let cluster: Cluster | undefined;
  requireReal('slurm').beforeAll(async () => {
    await cleanupStaleClusters();
    cluster = await createCluster(nodes);
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  }, 30_000);
  return () => {
    if (!cluster) throw new Error('cluster not started');
    return cluster;
  };
}
