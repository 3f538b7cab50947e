/**
 * The order test files start in. Vitest runs the longest files first when it has timed them
 * before, and the largest first when it has not, as on CI's fresh clone: there a one-minute
 * end-to-end file (a frozen DynamoDB, waited out in real time) could start last and hold the
 * run for its whole length after every other file had finished. End-to-end and integration
 * files, which mostly wait on local servers and timers, start first; within a tier, Vitest's
 * own order holds.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SLOW_FIRST = ['test/e2e/', 'test/integration/', 'test/packages/', 'test/infra/'];

const tier = (spec: TestSpecification) => {
  const found = SLOW_FIRST.findIndex((dir) => spec.moduleId.includes(`/${dir}`));
  return found === -1 ? SLOW_FIRST.length : found;
};

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return (await super.sort(files)).sort((a, b) => tier(a) - tier(b));
  }
}
