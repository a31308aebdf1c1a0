export { analyzeConsole, type ConsoleSource } from './analyze-console.js';
export { analyzeConsoleFile, type AnalyzeFileOptions } from './console-file.js';
export { formatDiags } from './diags.js';
export { buildFailedVerdict, judge, MAX_QUOTED, notRunVerdict } from './judge.js';
export { suiteExpectsEndOfTest } from './findings-builder.js';
export * from './types.js';
