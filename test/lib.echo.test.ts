import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { locateDcmtkTool } from '../lib/dcmtk/run';
import { validatePacsSettings } from '../lib/core/settings';
import { closedPort, startSilentServer, useOrthanc } from './support/pacs';
import { echo, runEcho } from '../lib/ops/echo';
import { until } from './support/until';

describe('lib echo against a real Orthanc', () => {
  const pacs = useOrthanc();
  const settings = (extra: Record<string, unknown> = {}) =>
    validatePacsSettings({ aet: 'PYPXTEST', aec: pacs().aet, host: pacs().host, port: pacs().dicomPort, timeout: 5, ...extra });

  it('answers pypx\'s success dict with the echoscu command line', async () => {
    const result = await echo({ aet: 'PYPXTEST', aec: pacs().aet, server_ip: '127.0.0.1', server_port: String(pacs().dicomPort) });
    assert.equal(result.status, 'success');
    assert.equal(result.data, '');
    assert.match(result.command, new RegExp(`echoscu .*-aec ORTHANC -aet PYPXTEST 127\\.0\\.0\\.1 ${pacs().dicomPort}$`));
  });

  it('reports a refused connection with DCMTK\'s own words', async () => {
    const outcome = await runEcho(settings({ port: await closedPort() }));
    assert.equal(outcome.result.status, 'error');
    assert.equal(outcome.error?.kind, 'refused');
    assert.match(outcome.result.data, /Connection refused/);
    assert.match(outcome.error?.message ?? '', /connection refused by 127\.0\.0\.1:\d+/);
  });

  it('reports a wrong called AE title as a rejected association', async () => {
    const outcome = await runEcho(settings({ aec: 'NOTORTHANC' }));
    assert.equal(outcome.error?.kind, 'rejected');
    assert.equal(outcome.error?.reason, 'called AE rejected');
    assert.match(outcome.result.data, /Called AE Title Not Recognized/);
  });

  it('gives up on a PACS that accepts TCP and never answers, within the timeout', async function () {
    this.timeout(20000);
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const outcome = await runEcho(settings({ port: silent.port, timeout: 2 }));
      assert.equal(outcome.error?.kind, 'timeout');
      assert.match(outcome.error?.message ?? '', /no answer from ORTHANC at 127\.0\.0\.1:\d+ within 2 s/);
      assert.ok(Date.now() - started < 10000, 'the echo did not give up within the timeout and its grace');
    } finally {
      await silent.stop();
    }
  });

  it('stops echoscu when aborted', async function () {
    const silent = await startSilentServer();
    try {
      const controller = new AbortController();
      const pending = runEcho(settings({ port: silent.port, timeout: 60 }), { signal: controller.signal });
      await until('echoscu has connected and waits for an answer', () => silent.connections() > 0, { timeoutMs: 5000 });
      controller.abort();
      const outcome = await pending;
      assert.equal(outcome.error?.kind, 'aborted');
    } finally {
      await silent.stop();
    }
  });

  it('says plainly that echoscu is missing, naming the fix', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'no-dcmtk-'));
    try {
      const outcome = await runEcho(settings({ dcmtkDir: empty }));
      assert.equal(outcome.error?.kind, 'dcmtk-missing');
      assert.match(outcome.result.data, /echoscu not found .*install DCMTK \(apt-get install dcmtk\) or set the DCMTK folder/);
      await assert.rejects(locateDcmtkTool('echoscu', { executable: path.join(empty, 'echoscu') }), /echoscu not found/);
    } finally {
      await rm(empty, { recursive: true });
    }
  });

  it('answers bad settings with a pypx error dict instead of throwing', async () => {
    const result = await echo({ aet: '', aec: 'ORTHANC', server_ip: '127.0.0.1', server_port: 'x' });
    assert.equal(result.status, 'error');
    assert.match(String(result.data), /calling AE title \(aet\) is empty; port must be a whole number/);
  });
});

describe('without util-linux\'s setpriv', () => {
  it('refuses to run a DCMTK tool that would outlive Node-RED, saying what to install', () => {
    // A process of its own, whose PATH holds no setpriv; DCMTK is found by its folder.
    const program = `
      const { runEcho } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'index.js'))});
      runEcho({ aet: 'US', aec: 'PACS', host: '127.0.0.1', port: 1, timeout: 2, dcmtkDir: '/usr/bin' })
        .then((outcome) => process.stdout.write(JSON.stringify({ kind: outcome.error?.kind, reason: outcome.error?.reason, message: outcome.error?.message })));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', program], { env: { PATH: '/nonexistent' }, encoding: 'utf8' })) as Record<string, string>;
    assert.equal(out.reason, 'setpriv missing');
    assert.match(out.message ?? '', /setpriv not found .*install util-linux/);
  });
});
