// The association budget shared through Redis, at the queue: two queues stand for two processes using
// one PACS. Redis is a real redis-server the test starts.
import assert from 'node:assert/strict';
import { AssociationQueue, QueueAbortedError, runQueued } from '../lib/core/queue';
import { budgetKey, type BudgetChange, LOCAL_BUDGET_NOTICE, SharedBudgetQueue } from '../lib/core/shared-budget';
import { PacsError } from '../lib/core/errors';
import { closedPort } from './support/pacs';
import { type RunningServer, startRedis } from './support/redis';
import { until } from './support/until';

const PACS = { host: 'pacs.example.org', port: 104, aec: 'ARCHIVE' };
const PASSWORD = 'budget-secret-7';

/** A task that holds its association until released, counting how many run at once across every queue. */
function gate() {
  let running = 0;
  let most = 0;
  const waiting: Array<() => void> = [];
  return {
    task: async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => waiting.push(resolve));
      running--;
    },
    get running() {
      return running;
    },
    get most() {
      return most;
    },
    /** Ends one running task; false when none is running yet. */
    releaseOne(): boolean {
      const next = waiting.shift();
      next?.();
      return next !== undefined;
    },
  };
}

describe('shared association budget (Redis)', function () {
  let redis: RunningServer;
  const queues: AssociationQueue[] = [];
  const shared = (fallback = false, url = redis.url, concurrency = 2) => {
    const queue = new SharedBudgetQueue(concurrency, PACS, { redis: { url, password: PASSWORD }, fallback });
    queues.push(queue);
    return queue;
  };

  before(async () => {
    redis = await startRedis({ password: PASSWORD });
  });
  after(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close()));
  });

  it('lets two processes together open no more associations than the concurrency, and runs every one', async () => {
    const [a, b] = [shared(), shared()] as const;
    const held = gate();
    const runs = [...Array(6)].map((_, i) => (i % 2 ? a : b).run(() => held.task()));
    await until('two associations run', () => held.running === 2, { describe: () => held.running });
    for (let released = 0; released < 6; released++) await until(`association ${released + 1} runs and ends`, () => held.releaseOne(), { describe: () => held.running });
    await Promise.all(runs);
    assert.equal(held.most, 2, 'at most two associations at once across both processes');
  });

  it('names the budget key after the PACS host, port and called AE title', () => {
    assert.equal(budgetKey({ host: 'PACS.Example.org', port: 104, aec: 'ARCHIVE' }), 'pypx:budget:pacs.example.org:104:ARCHIVE');
  });

  it('gives the turn up when the caller stops while waiting for a shared slot', async () => {
    const [a, b] = [shared(), shared()] as const;
    const held = gate();
    const holding = [a.run(() => held.task()), a.run(() => held.task())];
    await until('two associations run', () => held.running === 2);
    const stop = new AbortController();
    let ran = false;
    const waiting = runQueued(b, async () => { ran = true; }, stop.signal, (err) => err);
    await until('the other process counts it as waiting, for a slot held elsewhere', () => b.waiting === 1 && b.active === 0, { describe: () => [b.waiting, b.active] });
    stop.abort();
    const result: unknown = await waiting;
    assert.ok(result instanceof QueueAbortedError, 'the waiting association never started');
    assert.equal(ran, false);
    for (let i = 0; i < 2; i++) await until('a holding association ends', () => held.releaseOne());
    await Promise.all(holding);
  });

  it('fails with an error naming Redis and its URL, never the password, when Redis is unreachable', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const queue = shared(false, url);
    let ran = false;
    const error: unknown = await queue.run(async () => { ran = true; }).then(() => undefined, (err: unknown) => err);
    assert.ok(error instanceof PacsError, String(error));

    assert.equal(ran, false, 'nothing was sent to the PACS');
    assert.equal(error.reason, 'Redis unreachable');
    assert.match(error.message, new RegExp(`^Redis at ${url} is unreachable \\(.*ECONNREFUSED.*\\): .*nothing is sent to the PACS`));
    assert.ok(!error.message.includes(PASSWORD));
  });

  it('falls back to the local budget when told to, says so, and shares again once Redis answers', async () => {
    const port = await closedPort();
    const queue = shared(true, `redis://127.0.0.1:${port}`);
    const changes: BudgetChange[] = [];
    queue.on('budget', (change: BudgetChange) => changes.push(change));
    const held = gate();
    const runs = [queue.run(() => held.task()), queue.run(() => held.task()), queue.run(() => held.task())];
    await until('two associations run on the local budget', () => held.running === 2, { describe: () => held.running });
    assert.equal(queue.notice, LOCAL_BUDGET_NOTICE);
    assert.equal(changes[0]?.shared, false);
    assert.match(changes[0]?.message ?? '', /unreachable.*this process's own budget \(concurrency 2\)/);
    for (let i = 0; i < 3; i++) await until('an association runs and ends', () => held.releaseOne());
    await Promise.all(runs);
    assert.equal(held.most, 2, 'the local budget still holds');

    const back = await startRedis({ password: PASSWORD, port });
    try {
      await until('associations take shared slots again', async () => {
        await queue.run(async () => undefined);
        return queue.notice === undefined;
      }, { timeoutMs: 15000, describe: () => changes });
      assert.equal(changes.at(-1)?.shared, true);
      assert.match(changes.at(-1)?.message ?? '', /answers again/);
    } finally {
      await back.stop();
    }
  });
});
