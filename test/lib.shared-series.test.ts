// Series tracked by two receivers through Redis, at the tracker: a real redis-server the test starts, real
// series folders, two trackers with journals of their own standing for two px-listen.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type SeriesComplete, type SeriesKey, SeriesTracker } from '../lib/filing/series';
import { RedisSeriesView } from '../lib/filing/shared-series';
import { resolveListenerOptions } from '../lib/ops/listen/options';
import { closedPort } from './support/pacs';
import { type RunningServer, startRedis } from './support/redis';
import { until } from './support/until';

describe('series view shared through Redis', () => {
  let redis: RunningServer;
  let dir = '';
  let series: SeriesKey;
  const trackers: SeriesTracker[] = [];
  const completed: SeriesComplete[] = [];
  const errors: Error[] = [];

  function tracker(name: string, url = redis.url, timeoutMs = 300): SeriesTracker {
    const view = new RedisSeriesView({ url }, path.join(dir, 'data'), 'SHARED');
    const made = new SeriesTracker(timeoutMs, path.join(dir, `${name}.jsonl`), (done) => completed.push(done), (err) => errors.push(err), view);
    trackers.push(made);
    return made;
  }

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-shared-series-'));
    const folder = path.join(dir, 'data', 'PAT', 'STUDY', 'SERIES');
    await mkdir(folder, { recursive: true });
    for (const name of ['1-a.dcm', '2-b.dcm', '3-c.dcm']) await writeFile(path.join(folder, name), 'x');
    series = { StudyInstanceUID: '1.2', SeriesInstanceUID: '1.2.3', PatientID: 'PAT', path: folder };
    completed.length = 0;
    errors.length = 0;
  });
  afterEach(async () => {
    await Promise.all(trackers.splice(0).map((t) => t.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it('announces a series both receivers filed to once, with every instance', async () => {
    const [a, b] = [tracker('a'), tracker('b')];
    a.touch(series, '1.2.3.1');
    b.touch(series, '1.2.3.2');
    a.touch(series, '1.2.3.3');
    await until('both receivers decided', () => a.pending === 0 && b.pending === 0, { describe: () => [a.pending, b.pending] });
    assert.equal(completed.length, 1, 'announced once');
    assert.equal(completed[0]?.count, 3);
    assert.deepEqual(errors, []);
  });

  it('announces a series Redis forgot (restarted empty) rather than never', async () => {
    const [a, b] = [tracker('a', redis.url, 3000), tracker('b', redis.url, 3000)];
    a.touch(series, '1.2.3.1');
    b.touch(series, '1.2.3.2');
    const client = new Redis(redis.url);
    try {
      await until('Redis knows the series', async () => (await client.keys('pypx:series:*:last')).length === 1, { describe: async () => ({ keys: await client.keys('*'), errors: errors.map((e) => e.message) }) });
      await client.flushall();
    } finally {
      client.disconnect();
    }
    await until('both receivers decided', () => a.pending === 0 && b.pending === 0);
    assert.equal(completed.length, 2, 'each receiver that had some of it announced it');
    assert.ok(completed.every((c) => c.count === 3));
  });

  it('announces on its own, saying once that Redis is unreachable, when Redis does not answer', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const a = tracker('a', url);
    a.touch(series, '1.2.3.1');
    a.touch(series, '1.2.3.2');
    await until('the series announced', () => completed.length === 1, { timeoutMs: 15000 });
    assert.equal(completed[0]?.count, 3);
    assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
    assert.match(errors[0]?.message ?? '', new RegExp(`^Redis at ${url} is unreachable.*announces the series it completes on its own`));
  });

  it('gives each receiver with a Redis URL an incoming folder of its own, and refuses a password in the URL', () => {
    const options = resolveListenerOptions({ aet: 'SHARED', port: 11113, dataDir: '/srv/pypx', redis: { url: 'redis://redis.example.org:6379' } });
    assert.equal(options.tmpDir, path.join('/srv/pypx', 'incoming', `${os.hostname()}-11113`));
    assert.equal(resolveListenerOptions({ aet: 'ALONE', port: 11113, dataDir: '/srv/pypx' }).tmpDir, '/srv/pypx/incoming');
    assert.throws(() => resolveListenerOptions({ aet: 'SHARED', port: 11113, dataDir: '/srv/pypx', redis: { url: 'redis://:secret@redis.example.org:6379' } }),
      (err: Error) => /holds a password: give it in the Redis password field/.test(err.message) && !err.message.includes('secret'));
  });
});
