export * from './types.js';
export * from './pack.js';
export * from './plan.js';
