import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the kernels most real tests share before any file runs (no hook limit there).
    globalSetup: ['test/global-setup.ts'],
    // Real kernels and real guests are slow on 2 cores; each slow test sets its own limit too.
    testTimeout: 60_000,
    hookTimeout: 30 * 60_000,
    // Guests and kernel builds compete for the same 2 cores: files run one after another.
    fileParallelism: false,
  },
});
