// Waiting between tries of what failed for a reason that may pass (a connection refused or lost, a
// server's 5xx): 1 s, 2 s, 4 s ... at most 30 s, cut short when the operation is stopped. px-send over
// DIMSE and every DICOMweb request wait alike.

export const FIRST_RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 30000;

/** The wait after try number `attempt` (from 0) failed: `firstMs`, doubled each time, at most 30 s. */
export function retryDelay(attempt: number, firstMs = FIRST_RETRY_DELAY_MS): number {
  return Math.min(firstMs * 2 ** attempt, MAX_RETRY_DELAY_MS);
}

/** Resolves after `ms`, or as soon as `signal` aborts; never rejects, and leaves no listener behind. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
