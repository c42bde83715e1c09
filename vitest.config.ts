import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Generous: suites start real servers and browsers on a 2-core machine, and a loaded one is
    // slow, not wrong. Performance goals live in `npm run bench`, never in test timeouts.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // Suites start real servers and browsers; two cores do not take many at once.
    maxWorkers: 2,
  },
});
