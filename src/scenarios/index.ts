export * from './types.js';
export * from './suites.js';
export * from './fragment.js';
export * from './cpus.js';
export * from './library.js';
export * from './configs-spec.js';
export * from './instances.js';
export * from './scenario-dir.js';
