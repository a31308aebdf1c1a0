export { analyzeConsole, analyzeConsoleFile, type ConsoleSource } from './analyze-console.js';
export { formatDiags } from './diags.js';
export { judge, MAX_QUOTED } from './judge.js';
export { suiteExpectsEndOfTest } from './findings-builder.js';
export * from './types.js';
