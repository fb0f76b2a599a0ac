// A FIFO of DICOM associations to one PACS: at most `concurrency` run at once, the rest wait their turn.
import { EventEmitter } from 'node:events';

export const DEFAULT_CONCURRENCY = 2;
export const MAX_CONCURRENCY = 64;

/** Why a concurrency setting is unusable, or undefined when it is fine. Empty means the default. */
export function concurrencyProblem(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) {
    return `concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, not ${JSON.stringify(value)}`;
  }
  return undefined;
}

export function toConcurrency(value: unknown): number {
  return concurrencyProblem(value) || value === undefined || value === null || value === '' ? DEFAULT_CONCURRENCY : Number(value);
}

/** A task that never started: its caller gave up, or the queue was closed, while it waited. */
export class QueueAbortedError extends Error {
  constructor(readonly closed: boolean) {
    super(closed ? 'the PACS queue was closed (its PACS config stopped) before this operation started' : 'stopped while waiting in the PACS queue');
    this.name = 'QueueAbortedError';
  }
}

export interface QueueCounts {
  waiting: number;
  active: number;
}

interface Waiting {
  start(): void;
  reject(err: Error): void;
}

/** Emits 'change' with QueueCounts whenever a task is queued, starts or ends. */
export class AssociationQueue extends EventEmitter {
  private readonly queue: Waiting[] = [];
  private readonly running = new Map<AbortController, Promise<unknown>>();
  protected closed = false;

  constructor(readonly concurrency: number = DEFAULT_CONCURRENCY) {
    super();
    this.setMaxListeners(0);
  }

  get waiting(): number {
    return this.queue.length;
  }

  get active(): number {
    return this.running.size;
  }

  /**
   * Whether other processes count against this budget too (SharedBudgetQueue). An echo then takes a
   * turn like any association, as the PACS counts it; on a budget of its own, an echo never waits behind retrieves.
   */
  get shared(): boolean {
    return false;
  }

  /** What the budget wants said beside a node's status (a shared budget fallen back to this one), or undefined. */
  get notice(): string | undefined {
    return undefined;
  }

  /**
   * Runs the task when its turn comes. The task's signal aborts when the caller's signal does or
   * the queue closes. Rejects with QueueAbortedError if either happens before the task starts.
   */
  run<T>(task: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new QueueAbortedError(true));
    if (signal?.aborted) return Promise.reject(new QueueAbortedError(false));
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        start: () => {
          signal?.removeEventListener('abort', giveUp);
          const controller = new AbortController();
          const abort = () => controller.abort();
          signal?.addEventListener('abort', abort, { once: true });
          const promise = Promise.resolve()
            .then(() => task(controller.signal))
            .then(resolve, reject)
            .finally(() => {
              signal?.removeEventListener('abort', abort);
              this.running.delete(controller);
              this.changed();
              this.pump();
            });
          this.running.set(controller, promise);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', giveUp);
          reject(err);
        },
      };
      const giveUp = () => {
        const index = this.queue.indexOf(entry);
        if (index < 0) return;
        this.queue.splice(index, 1);
        reject(new QueueAbortedError(false));
        this.changed();
      };
      signal?.addEventListener('abort', giveUp, { once: true });
      this.queue.push(entry);
      this.pump();
      this.changed();
    });
  }

  /** Rejects every waiting task, aborts every running one, and resolves when they have ended. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.queue.splice(0)) entry.reject(new QueueAbortedError(true));
    for (const controller of this.running.keys()) controller.abort();
    this.changed();
    await Promise.allSettled([...this.running.values()]);
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.concurrency && this.queue.length) this.queue.shift()?.start();
  }

  private changed(): void {
    const counts: QueueCounts = { waiting: this.waiting, active: this.active };
    this.emit('change', counts);
  }
}

/**
 * Runs the task through the queue when there is one, else at once. A task the queue never started
 * (its caller gave up, or the queue closed) resolves to whatever `notStarted` makes of that.
 */
export async function runQueued<T>(
  queue: AssociationQueue | undefined,
  task: (signal: AbortSignal | undefined) => Promise<T>,
  signal: AbortSignal | undefined,
  notStarted: (err: QueueAbortedError) => T,
): Promise<T> {
  if (!queue) return task(signal);
  try {
    return await queue.run(task, signal);
  } catch (err) {
    if (err instanceof QueueAbortedError) return notStarted(err);
    throw err;
  }
}
