/**
 * Prints one closing line `tests: N passed, N failed, N skipped`, the plain summary shape
 * CI reads, after vitest's own report. A file that failed without a failed test (a
 * `beforeAll` that threw, so its tests were skipped; an `afterAll` assertion such as the
 * secret-leak checks, after its tests passed; an import error) counts as one failure and
 * is named on a line of its own, so the count never reads 0 while the run failed.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    const failedOutsideTests: string[] = [];
    for (const module of testModules) {
      const tests = [...module.children.allTests()];
      if (module.state() === 'failed' && !tests.some((test) => test.result().state === 'failed')) {
        failed += 1;
        failedOutsideTests.push(module.relativeModuleId);
      }
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    const named = failedOutsideTests.map((id) => `failed outside its tests (a hook or the file itself): ${id}\n`).join('');
    process.stdout.write(`\n${named}tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
