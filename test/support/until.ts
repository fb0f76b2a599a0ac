// The one way tests wait for something they can observe: poll a condition, and when it does not come
// true in time, fail right there, saying what was awaited and what was last seen. A wait that ends
// silently lets the test go on and fail later in an unrelated assertion, or pass having proved nothing.

export interface UntilOptions {
  /** How long to wait before failing (default 30 s, under mocha's 60 s test timeout). */
  timeoutMs?: number;
  /** How often to look (default 50 ms). */
  intervalMs?: number;
  /** The state at the time of giving up, for the error message (a count, the last status, ...). */
  describe?: () => unknown;
}

/**
 * Resolves once `condition` holds; throws `not within N s: <what>` (with describe()'s account of the last
 * state) when it has not held for `timeoutMs`. An error thrown by the condition ends the wait at once.
 */
export async function until(what: string, condition: () => boolean | Promise<boolean>, options: UntilOptions = {}): Promise<void> {
  const { timeoutMs = 30000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`not within ${timeoutMs / 1000} s: ${what}${await lastState(options.describe)}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}

async function lastState(describe: UntilOptions['describe']): Promise<string> {
  if (!describe) return '';
  try {
    const state: unknown = await describe();
    return `; last seen: ${typeof state === 'string' ? state : JSON.stringify(state)}`;
  } catch (err) {
    return `; (describing the last state failed: ${err instanceof Error ? err.message : String(err)})`;
  }
}
