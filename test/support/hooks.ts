// Root hooks for every test file: no DCMTK process may outlive the test that started it, and nothing a
// test started may keep the test run from ending.
import assert from 'node:assert/strict';
import { dcmtkDescendants } from './processes';
import { until } from './until';

/** How long the run may take to end by itself after the last test (every stop is awaited before). */
const END_GRACE_MS = 10000;

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

  afterAll() {
    // mocha runs without --exit: the run ends when nothing is left open. Should something still be open
    // a while after the last test (a server, a socket, a child process, a timer), say what, and fail
    // the run rather than hang it. Unref'd, this timer never keeps the run going itself.
    setTimeout(() => {
      process.stderr.write(`\nStill open ${END_GRACE_MS / 1000} s after the last test, keeping the test run from ending:\n${openResources().join('\n')}\n`);
      // mocha sets the exit code from the failures on 'exit'; this listener comes after its own.
      process.on('exit', () => (process.exitCode = 1));
      process.exit(1);
    }, END_GRACE_MS).unref();
  },
};

/** What keeps this process running, as why-is-node-running would tell: the kinds, then each handle that says more. */
function openResources(): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const described = handles.flatMap((handle) => {
    const h = handle as { constructor?: { name?: string }; pid?: number; spawnargs?: string[]; address?: () => unknown; localPort?: number; remotePort?: number; _handle?: { fd?: number } };
    const kind = h.constructor?.name ?? typeof handle;
    if (kind === 'ChildProcess') return [`  child process ${h.pid}: ${h.spawnargs?.join(' ')}`];
    if (kind === 'Server') return [`  server ${JSON.stringify(h.address?.())}`];
    if (kind === 'Socket') {
      // This process's own standard streams are no leak.
      if ([0, 1, 2].includes(h._handle?.fd ?? -1)) return [];
      return [`  socket ${h.localPort ?? ''} -> ${h.remotePort ?? ''} (fd ${h._handle?.fd ?? '?'}; a pipe when no ports: a child's standard stream)`];
    }
    return [`  ${kind}`];
  });
  return [`  kinds: ${process.getActiveResourcesInfo().join(', ')}`, ...described];
}
