import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/support/slow-first-sequencer';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Four forks on two cores: the slow files mostly wait on local servers and timers, and two
    // more forks overlap that waiting (vitest 307 s → 249 s here, with the slow files started
    // first: test/support/slow-first-sequencer.ts). Shared DynamoDB Local and KMS: global-setup.
    pool: 'forks',
    maxWorkers: 4,
    sequence: { sequencer: SlowFirstSequencer },
    // Each file gets fresh modules and its own process.env (vitest 4's default, made explicit):
    // these set process.env without restoring it and import handlers that read their config
    // once at import — test/integration/fanout/end-to-end.test.ts,
    // test/integration/issuance/handlers.test.ts, test/integration/rotation/support.ts (at
    // import), and through local/stack.ts test/integration/local-rotation-schedule.test.ts,
    // test/e2e/throttling.test.ts. Turning isolation off would leak one file's config into the next.
    isolate: true,
    // Function bundles (local mode's `handlerCode: 'bundled'`) are imported and run by Node
    // itself, as Lambda runs them, not transformed by vitest's module runner, which would also
    // resolve anything a bundle left out from this repository's node_modules (Lambda has none).
    server: { deps: { external: [/\/functions\/[^/]+\/index\.mjs$/] } },
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
