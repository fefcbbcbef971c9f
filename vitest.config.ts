import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./src/polyfill.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // most files wait on sockets, child processes and timers: two at a time keeps both cores busy
    maxWorkers: 2,
    // files share a worker's module cache (libp2p and the rest load once per worker, not once
    // per file); every test builds its own nodes, stores and registries, and restores what it patches
    isolate: false
  }
})
