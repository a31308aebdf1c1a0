export * from './types.js';
export { buildKernels } from './build-kernels.js';
export { resolveKernelTree, treeIdentity, type KernelTree, type TreeIdentity } from './kernel-tree.js';
export {
  KASAN_SETTINGS,
  KCSAN_SETTINGS,
  applySettings,
  checkConfig,
  configLayers,
  formatConfigFragment,
  formatMismatches,
  mergeLayers,
  parseDotConfig,
  type ConfigLayer,
  type ConfigMismatch,
  type LayerInput,
} from './config.js';
export { pickBuildProblems, judgeBuild, type BuildProblems } from './parse-build.js';
export { cacheKey, configMemoKey, type CacheKeyInput } from './cache-key.js';
export { ensureInitramfs, newcArchive, type Initramfs, type CpioEntry } from './initramfs.js';
export { cacheLayout, type BuildCacheLayout } from './store.js';
export { describeBuildEvent, createBuildReporter, createLineReporter, createLiveReporter, type ReporterStream } from './reporter.js';
export { readBzImageBanner } from './kernel-banner.js';
