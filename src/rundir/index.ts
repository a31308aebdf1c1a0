export * from './layout.js';
export * from './create.js';
export * from './files.js';
