// The module's listen() used as README shows, with .on('instance', ...), for 10,000 instances: its
// memory stays flat (it keeps nothing for an iterator nobody runs).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as pypx from '../lib/index';
import { SAMPLE_PATIENTS, type SamplePatient, writeSampleInstances } from '../testbed/generate';
import { freeTcpPort, storescu } from './support/store';
import { until } from './support/until';

describe('pypx module listen() over 10,000 instances', function () {
  this.timeout(300000);

  it('grows by less than 50 MB, and its heap stays flat', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const work = await mkdtemp(path.join(os.tmpdir(), 'px-listen-memory-'));
    const listener = await pypx.listen({ aet: 'MEMORY', port: await freeTcpPort(), d: path.join(work, 'data'), seriesTimeout: 1 });
    try {
      let received = 0;
      listener.on('instance', () => received++);
      const folders = await Promise.all([0, 1].map(async (i) => {
        const dir = path.join(work, `send${i}`);
        await writeSampleInstances(dir, { patients: [SAMPLE_PATIENTS[i] as SamplePatient], seriesPerStudy: 5, instancesPerSeries: 50, seed: 'memory' });
        return dir;
      }));
      // A first round warms up (code, caches); then 20 rounds of 500: the same files filed again as duplicates.
      const round = async (n: number) => {
        await Promise.all(folders.map((dir) => storescu(listener.options.port, [dir], { aec: 'MEMORY' })));
        await until(`round ${n}: ${n * 500} instances received`, () => received >= n * 500, { timeoutMs: 20000, intervalMs: 10, describe: () => ({ received }) });
      };
      await round(1);
      gc();
      const before = process.memoryUsage();
      for (let n = 2; n <= 21; n++) await round(n);
      assert.equal(received, 21 * 500);
      gc();
      const after = process.memoryUsage();
      const mb = (bytes: number) => bytes / 2 ** 20;
      assert.ok(mb(after.rss - before.rss) < 50, `RSS grew ${mb(after.rss - before.rss).toFixed(1)} MB over 10,000 instances`);
      // Keeping each event (~1 KB) would add ~10 MB of heap.
      assert.ok(mb(after.heapUsed - before.heapUsed) < 4, `heap grew ${mb(after.heapUsed - before.heapUsed).toFixed(1)} MB over 10,000 instances`);
    } finally {
      await listener.close();
      await rm(work, { recursive: true, force: true });
    }
  });
});
