// Root hooks for every test file: no DCMTK process may outlive the test that started it.
import assert from 'node:assert/strict';
import { dcmtkDescendants } from './processes';

export const mochaHooks = {
  async afterEach(this: Mocha.Context) {
    // A process killed on close has exited by the time close resolved; allow the OS a moment to reap it.
    let left = dcmtkDescendants();
    for (let i = 0; i < 20 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = dcmtkDescendants();
    }
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
