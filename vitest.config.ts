// Test projects: unit (no services, parallel), integration (the real local stack, files in
// parallel, each with its own topic/group prefix), serial (real stack, files that clear state the
// others share, one at a time), chaos (real stack, kills processes: one file at a time).
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/stack-env.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
        },
      },
      {
        // Integration tests that clear state every file shares (the Neo4j sink's reset deletes the
        // graph's labels): one file at a time, after the parallel integration files.
        test: {
          name: 'serial',
          include: ['test/serial/**/*.test.ts'],
          globalSetup: ['test/support/stack-env.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: ['test/support/stack-env.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
