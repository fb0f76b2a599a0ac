// Without a Redis setting the package is what it was: no Redis client is even loaded. With one, px-pacs
// loads it, and a Redis that cannot be reached is said in the answer, or in a yellow status when the
// config falls back to its own budget. Each case runs in a child process of its own, whose module cache is its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_BUDGET_NOTICE } from '../lib/core/shared-budget';
import { closedPort, useOrthanc } from './support/pacs';

const run = promisify(execFile);

interface ChildReport {
  payload: { status: string; data: string };
  statuses: Array<{ fill?: string; shape?: string; text?: string }>;
  loaded: string[];
}

async function echoInChild(host: string, port: number, redis = '', fallback = ''): Promise<ChildReport> {
  const { stdout } = await run(process.execPath, [path.join(__dirname, 'support', 'redis-free-child.js'), host, String(port), redis, fallback], { timeout: 60000 });
  return JSON.parse(stdout) as ChildReport;
}

describe('px-pacs with and without Redis', () => {
  const pacs = useOrthanc();

  it('loads no Redis client when no px-pacs has a Redis URL, and echoes as before', async () => {
    const report = await echoInChild('127.0.0.1', pacs().dicomPort);
    assert.equal(report.payload.status, 'success', report.payload.data);
    assert.deepEqual(report.loaded, [], 'neither ioredis nor redis-semaphore loaded');
    assert.deepEqual(report.statuses.at(-1), { fill: 'green', shape: 'dot', text: '1 ok' });
  });

  it('fails each association with Redis and its URL named when Redis cannot be reached', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const report = await echoInChild('127.0.0.1', pacs().dicomPort, url);
    assert.ok(report.loaded.some((file) => file.includes('/ioredis/')), 'the Redis client is loaded when asked for');
    assert.equal(report.payload.status, 'error');
    assert.match(report.payload.data, new RegExp(`^Redis at ${url} is unreachable .*nothing is sent to the PACS`));
    assert.deepEqual(report.statuses.at(-1), { fill: 'red', shape: 'ring', text: 'Redis unreachable' });
  });

  it('falls back to its own budget when told to, and says so in a yellow status', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const report = await echoInChild('127.0.0.1', pacs().dicomPort, url, 'fallback');
    assert.equal(report.payload.status, 'success', report.payload.data);
    assert.deepEqual(report.statuses.at(-1), { fill: 'yellow', shape: 'ring', text: `${LOCAL_BUDGET_NOTICE} · 1 ok` });
  });
});
