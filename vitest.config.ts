import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    // Integration tests start real servers and processes; two cores are all we have.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
    // One CQL server for the run (a local Cassandra node unless SCYLLA_CONTACT_POINTS names one), then the build.
    globalSetup: ['./testkit/src/live-cql/global-setup.ts', './deploy/test/build-once.ts'],
  },
});
