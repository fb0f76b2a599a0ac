// Root hooks for every test file: no DCMTK process may outlive the test that started it.
import assert from 'node:assert/strict';
import { dcmtkDescendants } from './processes';
import { until } from './until';

export const mochaHooks = {
  async afterEach(this: Mocha.Context) {
    // A process killed on close has exited by the time close resolved; allow the OS a moment to reap it.
    let left = dcmtkDescendants();
    await until('no DCMTK process of the test is left', () => (left = dcmtkDescendants()).length === 0, { timeoutMs: 1000 }).catch(() => undefined);
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    assert.deepEqual(left, [], `DCMTK processes outlived the test "${this.currentTest?.fullTitle()}"`);
  },
};
