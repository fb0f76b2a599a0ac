// One PACS's association budget shared by every process that uses it: each association takes a slot
// of a semaphore in Redis (redis-semaphore) as well as a turn in this process's queue. A slot is a
// lease, refreshed while the association runs: a process that dies frees its slots when they expire.
import type { Redis } from 'ioredis';
import type { Semaphore } from 'redis-semaphore';
import { failureBeforeRun, type PacsError } from './errors';
import { AssociationQueue, QueueAbortedError } from './queue';
import { RedisLink, type RedisSettings } from './redis';

/** How long a slot outlives the last refresh of the process holding it. */
export const LEASE_MS = 5000;
const REFRESH_MS = 1000;
/** How often a waiting association asks Redis again for a slot. */
const RETRY_MS = 50;

/** Who the PACS is, to every process: the same host, port and called AE title share one budget. */
export interface PacsIdentity {
  host: string;
  port: number;
  aec: string;
}

export interface SharedBudgetOptions {
  redis: RedisSettings;
  /** When Redis cannot be reached: run on this process's budget alone (true) or fail (false). */
  fallback: boolean;
  leaseMs?: number;
}

/** 'budget' events: whether associations take shared slots now, and why not when they do not. */
export interface BudgetChange {
  shared: boolean;
  message: string;
}

export const LOCAL_BUDGET_NOTICE = 'Redis unreachable: local budget';

/** The Redis key of a PACS's budget. */
export function budgetKey(pacs: PacsIdentity): string {
  return `pypx:budget:${pacs.host.toLowerCase()}:${pacs.port}:${pacs.aec}`;
}

interface Slot {
  release(): Promise<void>;
}

type SemaphoreClass = typeof Semaphore;

/** A semaphore whose lease refresh never throws: a refresh Redis cannot answer counts as the slot lost. */
function quietSemaphore(Base: SemaphoreClass): SemaphoreClass {
  return class QuietSemaphore extends Base {
    protected override async _refresh(): Promise<boolean> {
      try {
        return await super._refresh();
      } catch {
        return false;
      }
    }
  };
}

/**
 * The association queue of a PACS whose budget is shared through Redis: the same interface as
 * AssociationQueue, so operations take their turn the same way. Emits 'budget' (BudgetChange) when
 * associations stop or start taking shared slots.
 */
export class SharedBudgetQueue extends AssociationQueue {
  private readonly link: RedisLink;
  private readonly key: string;
  private readonly leaseMs: number;
  private Semaphore?: SemaphoreClass;
  private local?: string;
  /** Turns taken here that wait for a slot of the shared budget: they count as waiting, not running. */
  private slotWaiters = 0;

  constructor(concurrency: number, pacs: PacsIdentity, private readonly options: SharedBudgetOptions) {
    super(concurrency);
    this.key = budgetKey(pacs);
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.link = new RedisLink(options.redis, `pypx-budget-${pacs.aec}`);
  }

  /** Where the budget is kept, for messages: the URL without a password, and the key. */
  get where(): string {
    return `${this.link.shown} (key ${this.key})`;
  }

  override get shared(): boolean {
    return true;
  }

  override get waiting(): number {
    return super.waiting + this.slotWaiters;
  }

  override get active(): number {
    return super.active - this.slotWaiters;
  }

  override get notice(): string | undefined {
    return this.local;
  }

  override run<T>(task: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return super.run(async (turn) => {
      const slot = await this.takeSlot(turn);
      try {
        return await task(turn);
      } finally {
        // Given back before the turn ends (and before a closing config drops the connection); Redis gone
        // meanwhile, the lease expires on its own.
        await slot?.release().catch(() => undefined);
      }
    }, signal);
  }

  override async close(): Promise<void> {
    await super.close();
    await this.link.close();
  }

  /** A slot of the shared budget; undefined when Redis is away and the local budget stands in. */
  private async takeSlot(signal: AbortSignal): Promise<Slot | undefined> {
    let client: Redis;
    try {
      client = await this.link.ready();
      this.Semaphore ??= quietSemaphore((await import('redis-semaphore')).Semaphore);
    } catch (err) {
      return this.withoutRedis(err as PacsError);
    }
    const semaphore = new this.Semaphore(client, this.key, this.concurrency, {
      lockTimeout: this.leaseMs,
      refreshInterval: Math.min(REFRESH_MS, this.leaseMs / 3),
      acquireTimeout: Number.POSITIVE_INFINITY,
      retryInterval: RETRY_MS,
      // The association runs on; its slot may be taken by another once the lease expires.
      onLockLost: () => this.emit('budget', { shared: false, message: `an association to the PACS lost its slot of the shared budget at ${this.where}: Redis did not answer its refresh` } satisfies BudgetChange),
    });
    this.slotWaitersChange(+1);
    try {
      await semaphore.acquire(signal);
    } catch (err) {
      if (signal.aborted) throw new QueueAbortedError(this.closed);
      return this.withoutRedis(this.link.unreachable((err as Error).message));
    } finally {
      this.slotWaitersChange(-1);
    }
    this.withRedis();
    return semaphore;
  }

  private slotWaitersChange(by: number): void {
    this.slotWaiters += by;
    this.emit('change', { waiting: this.waiting, active: this.active });
  }

  private withoutRedis(error: PacsError): undefined {
    if (!this.options.fallback) {
      throw failureBeforeRun(error.kind, error.reason, `${error.message}: the association budget of this PACS is shared there, and without it nothing is sent to the PACS. Start Redis again, or allow the fallback to this process's own budget (redisFallback)`);
    }
    if (this.local === undefined) {
      this.local = LOCAL_BUDGET_NOTICE;
      this.emit('budget', { shared: false, message: `${error.message}: associations to the PACS take this process's own budget (concurrency ${this.concurrency}) until Redis answers again; other processes using this PACS are not counted meanwhile` } satisfies BudgetChange);
      this.emit('change', { waiting: this.waiting, active: this.active });
    }
    return undefined;
  }

  private withRedis(): void {
    if (this.local === undefined) return;
    this.local = undefined;
    this.emit('budget', { shared: true, message: `Redis at ${this.link.shown} answers again: associations to the PACS take slots of the shared budget` } satisfies BudgetChange);
    this.emit('change', { waiting: this.waiting, active: this.active });
  }
}
