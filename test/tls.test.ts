// DICOM over TLS against a real Orthanc with TLS on and client certificates required, certificates
// made with openssl at test time: px-echo, px-find and px-listen succeed over TLS; each wrong set-up
// fails with an error naming the problem, within the timeout, on both sides.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { NodeMessage } from 'node-red';
import { echo, find } from '../lib/index';
import type { PypxRecord } from '../lib/core/result';
import { makeTestCertificates, type TestCertificates } from '../testbed/certificates';
import { generateSampleInstances, SAMPLE_PATIENTS, writeSampleInstances } from '../testbed/generate';
import { freePort, type RunningOrthanc, startOrthanc } from '../testbed/orthanc';
import { type FlowNode, helper, nextMessage, nodeModules, onTab, statusLog } from './support/flow';
import { dcmtkDescendants, watchCommandLines } from './support/processes';
import { storescu } from './support/store';
import type { InstancePayload } from '../lib/filing/file-instance';
import { until } from './support/until';

const run = promisify(execFile);

/** storescu over TLS with these extra arguments; resolves with its exit code. */
async function storescuTls(port: number, args: string[], dir: string): Promise<number> {
  try {
    await run('storescu', ['-to', '5', '-ta', '5', ...args, '-aec', 'TLSLISTEN', '+sd', '127.0.0.1', String(port), dir], { env: { ...process.env, TCP_NODELAY: '1' } });
    return 0;
  } catch (err) {
    return typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
  }
}

interface PacsMsg extends NodeMessage {
  payload: { status: string; command: string; data: unknown };
  error?: { message: string };
}

/** Every command line on this machine while `during` runs. */
async function commandLinesDuring<T>(during: Promise<T>): Promise<{ result: T; seen: string[] }> {
  const watch = watchCommandLines();
  try {
    return { result: await during, seen: await watch.stop() };
  } finally {
    await watch.stop();
  }
}

describe('DICOM over TLS with a real Orthanc requiring client certificates', function () {
  this.timeout(60000);
  let certs: TestCertificates;
  let orthanc: RunningOrthanc;
  let listenerPort: number;
  let work: string;

  before(async function () {
    this.timeout(120000);
    certs = await makeTestCertificates();
    work = await mkdtemp(path.join(os.tmpdir(), 'pypx-tls-work-'));
    listenerPort = await freePort();
    orthanc = await startOrthanc({
      tls: { certificate: certs.pacs.cert, privateKey: certs.pacs.key, trusted: certs.ca, remoteCertificateRequired: true },
      modalities: {
        nodered: ['NODERED', '127.0.0.1', 11112],
        tlslisten: { AET: 'TLSLISTEN', Host: '127.0.0.1', Port: listenerPort, UseDicomTls: true },
      },
    });
    await orthanc.upload([...generateSampleInstances({ patients: SAMPLE_PATIENTS.slice(0, 2), studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1, seed: 'tls' })].map((i) => i.bytes));
  });
  after(async () => {
    await orthanc?.stop();
    await certs?.remove();
    if (work) await rm(work, { recursive: true, force: true });
  });
  afterEach(() => helper.unload());

  /** px-echo, px-find and px-move on one px-pacs, a Catch node -> caught. */
  function load(config: Record<string, unknown>, credentials: Record<string, unknown> = {}) {
    const flow: FlowNode[] = onTab([
      {
        id: 'pacs', type: 'px-pacs', aet: 'NODERED', aec: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort, aetl: '', timeout: 5,
        tls: true, tlsCa: certs.ca, tlsCert: certs.client.cert, tlsKey: certs.client.key, ...config,
      },
      { id: 'echo', type: 'px-echo', pacs: 'pacs', wires: [['out']] },
      { id: 'find', type: 'px-find', pacs: 'pacs', level: 'SERIES', query: '{}', returnTags: '', split: false, limit: 0, wires: [['out']] },
      { id: 'move', type: 'px-move', pacs: 'pacs', destination: 'NODERED', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    return helper.load(nodeModules('px-pacs', 'px-echo', 'px-find', 'px-move'), flow, { pacs: credentials });
  }
  const send = (node: string, msg: Record<string, unknown> = { payload: 1 }) => helper.getNode(node)?.receive(msg as NodeMessage);

  it('echoes and finds over TLS with a client certificate', async () => {
    await load({});
    const echoed = nextMessage<PacsMsg>('out');
    send('echo');
    const echo = await echoed;
    assert.equal(echo.payload.status, 'success');
    assert.match(echo.payload.command, /echoscu .*\+tls \S+client\.key \S+client\.pem -pw \+cf \S+test-ca\.pem --require-peer-cert .*-aec ORTHANC/);

    const found = nextMessage<PacsMsg>('out');
    send('find');
    const find = await found;
    assert.equal(find.payload.status, 'success', JSON.stringify(find.payload));
    assert.deepEqual((find.payload.data as PypxRecord[]).map((r) => r.PatientID?.value).sort(), ['PX0001', 'PX0002']);
    assert.match(find.payload.command, /findscu .*\+tls .*\+cf /);
  });

  it('uses a password-protected key, with the password from the credentials and on no command line', async () => {
    await load({ tlsKey: certs.clientEncryptedKey }, { tlsKeyPassword: certs.password });
    // echoscu may run for a few milliseconds only: echo until the process table has been read while it ran.
    const seen: string[] = [];
    let echo: PacsMsg | undefined;
    for (let attempt = 0; attempt < 20 && !seen.some((line) => /echoscu .*client-encrypted\.key/.test(line)); attempt++) {
      const echoed = nextMessage<PacsMsg>('out');
      const run = await commandLinesDuring((async () => {
        send('echo');
        return echoed;
      })());
      echo = run.result;
      seen.push(...run.seen);
      assert.equal(echo.payload.status, 'success', JSON.stringify(echo.payload));
    }
    assert.ok(seen.some((line) => /echoscu .*client-encrypted\.key/.test(line)), 'the process table was never read while echoscu ran');
    assert.deepEqual(seen.filter((line) => line.includes(certs.password)), [], 'the key password appeared in a command line');
    assert.ok(!echo?.payload.command.includes(certs.password));
    assert.match(echo?.payload.command ?? '', /\+tls \S+client-encrypted\.key \S+client\.pem \+ps /);
  });

  it('says so when the key password is wrong or missing', async () => {
    await load({ tlsKey: certs.clientEncryptedKey }, { tlsKeyPassword: 'not it' });
    const caught = nextMessage<PacsMsg>('caught', 15000);
    send('echo');
    assert.match((await caught).error?.message ?? '', /cannot read the private key in tlsKey \(\S+client-encrypted\.key\): the key password is wrong/);
    await helper.unload();

    await load({ tlsKey: certs.clientEncryptedKey });
    const none = nextMessage<PacsMsg>('caught', 15000);
    send('echo');
    const missing = await none;
    assert.match(missing.error?.message ?? '', /tlsKey file \S+client-encrypted\.key is password-protected, and no key password is set/);
    assert.equal(missing.payload.command, '', 'found before echoscu ran');
  });

  const failures: Array<[string, Record<string, unknown>, RegExp, string]> = [
    ['without TLS', { tls: false }, /aborted the association at once: if it requires DICOM over TLS, turn TLS on/, 'aborted by PACS'],
    ['with a CA that did not sign the PACS\'s certificate', { tlsCa: '' }, /the PACS's certificate is not signed by the CA in tlsCa \(\S+other-ca\.pem\)/, 'untrusted PACS cert'],
    ['without a client certificate', { tlsCert: '', tlsKey: '' }, /ended the TLS handshake: it requires a client certificate; set tlsCert and tlsKey/, 'TLS refused by PACS'],
    ['with a client certificate from a CA the PACS does not trust', { tlsCert: '', tlsKey: '' }, /ended the TLS handshake: it did not accept our certificate \(tlsCert \S+rogue\.pem\)/, 'TLS refused by PACS'],
  ];
  failures.forEach(([what, config, message, reason], index) => {
    it(`fails echo and find ${what} with a clear error within the timeout`, async () => {
      const patch = { ...config };
      if (index === 1) patch.tlsCa = certs.otherCa;
      if (index === 3) Object.assign(patch, { tlsCert: certs.rogue.cert, tlsKey: certs.rogue.key });
      await load(patch);
      for (const node of ['echo', 'find']) {
        const caught = nextMessage<PacsMsg>('caught', 15000);
        const answered = nextMessage<PacsMsg>('out', 15000);
        send(node);
        const [msg, answer] = await Promise.all([caught, answered]);
        assert.match(msg.error?.message ?? '', message, `${node}: ${msg.error?.message}`);
        assert.equal(msg.payload.status, 'error');
        // The contract: the error result also leaves on the output, on the input msg.
        assert.equal(answer.payload.status, 'error', `${node} answers its error on the output`);
        assert.equal(answer._msgid, msg._msgid);
        assert.deepEqual(statusLog(node).at(-1), { fill: 'red', shape: 'ring', text: reason });
      }
    });
  });

  it('refuses a C-MOVE on a TLS config at once: movescu has no TLS, nothing is sent in clear', async () => {
    await load({});
    const caught = nextMessage<PacsMsg>('caught');
    const { seen } = await commandLinesDuring((async () => {
      send('move', { payload: { StudyInstanceUID: '1.2.3' } });
      return caught;
    })());
    const msg = await caught;
    assert.match(msg.error?.message ?? '', /movescu: DICOM over TLS is on for this PACS, and DCMTK's movescu has no TLS: the C-MOVE was not sent/);
    assert.equal(msg.payload.command, '');
    assert.deepEqual(seen.filter((line) => /movescu/.test(line)), [], 'movescu ran');
    assert.deepEqual(statusLog('move').at(-1), { fill: 'red', shape: 'ring', text: 'no C-MOVE over TLS' });
  });

  it('speaks TLS from the module API and the commands, with the same keys', async () => {
    const settings = { aet: 'NODERED', aec: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort, timeout: 5, tls: true, tlsCa: certs.ca, tlsCert: certs.client.cert, tlsKey: certs.client.key };
    assert.equal((await echo(settings)).status, 'success');
    const found = await find({ ...settings, PatientID: 'PX0002' });
    assert.equal(found.status, 'success', JSON.stringify(found));
    assert.equal(found.data.length, 1);
    assert.match(String((await echo({ ...settings, tlsCa: certs.otherCa })).data), /certificate verify failed/);

    const command = (args: string[], env: Record<string, string> = {}) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.resolve(__dirname, '..', 'bin', 'px-echo.js'), ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
    const flags = ['--aec', orthanc.aet, '--serverIP', '127.0.0.1', '--serverPort', String(orthanc.dicomPort), '--timeout', '5', '--tls', '--tlsCa', certs.ca, '--tlsCert', certs.client.cert];
    const ok = await command([...flags, '--tlsKey', certs.clientEncryptedKey], { PYPX_TLS_KEY_PASSWORD: certs.password });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).status, 'success');
    const wrongCa = await command([...flags.slice(0, -4), '--tlsCa', certs.otherCa, '--tlsCert', certs.client.cert, '--tlsKey', certs.client.key]);
    assert.equal(wrongCa.code, 1);
    assert.match(wrongCa.stderr, /the PACS's certificate is not signed by the CA in tlsCa/);
    const plain = await command(flags.slice(0, 8));
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /if it requires DICOM over TLS, turn TLS on/);
  });

  it('px-send stores over TLS with storescu and the same TLS settings, the key password on standard input', async () => {
    const files = path.join(work, 'to-send');
    await writeSampleInstances(files, { patients: SAMPLE_PATIENTS.slice(5, 6), studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 2, seed: 'tls-send' });
    const before = (await orthanc.get<string[]>('/instances')).length;
    const flow: FlowNode[] = onTab([
      {
        id: 'pacs', type: 'px-pacs', aet: 'NODERED', aec: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort, aetl: '', timeout: 5,
        tls: true, tlsCa: certs.ca, tlsCert: certs.client.cert, tlsKey: certs.clientEncryptedKey,
      },
      { id: 'send', type: 'px-send', pacs: 'pacs', retries: 0, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    await helper.load(nodeModules('px-pacs', 'px-send'), flow, { pacs: { tlsKeyPassword: certs.password } });
    const sent = nextMessage<PacsMsg & { payload: { sent: number } }>('out');
    const { result: msg, seen } = await commandLinesDuring((async () => {
      send('send', { payload: files });
      return sent;
    })());
    assert.equal(msg.payload.status, 'success', JSON.stringify(msg.payload));
    assert.equal(msg.payload.sent, 2);
    assert.match(msg.payload.command, /storescu .*\+tls \S+client-encrypted\.key \S+client\.pem \+ps \+cf \S+test-ca\.pem --require-peer-cert/);
    assert.deepEqual(seen.filter((line) => line.includes(certs.password)), [], 'the key password appeared in a command line');
    assert.equal((await orthanc.get<string[]>('/instances')).length, before + 2);
  });

  describe('px-listen over TLS', () => {
    const received: Array<{ payload: { data: InstancePayload } }> = [];
    const caught: Array<{ error?: { message: string } }> = [];
    async function deploy(config: Record<string, unknown>): Promise<void> {
      received.length = 0;
      caught.length = 0;
      await helper.load(nodeModules('px-listen'), onTab([
        {
          id: 'listen', type: 'px-listen', aet: 'TLSLISTEN', port: listenerPort, dataDir: path.join(work, 'data'), tmpDir: '', logDir: '', seriesTimeout: 1,
          tls: true, tlsCert: certs.listener.cert, tlsKey: certs.listener.key, tlsCa: certs.ca, wires: [['instances'], []], ...config,
        },
        { id: 'instances', type: 'helper' },
        { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ]));
      helper.getNode('instances')?.on('input', (msg: unknown) => received.push(msg as { payload: { data: InstancePayload } }));
      helper.getNode('caught')?.on('input', (msg: unknown) => caught.push(msg as { error?: { message: string } }));
      await until('px-listen shows it listens or why it cannot (green or red)', () => statusLog('listen').some((s) => s.fill === 'green' || s.fill === 'red'),
        { timeoutMs: 10000, describe: () => statusLog('listen') });
      assert.equal(statusLog('listen').at(-1)?.fill, 'green', JSON.stringify(statusLog('listen')));
    }
    const seen = () => ({ received: received.length, caught: caught.map((m) => m.error?.message) });

    it('receives what Orthanc sends over TLS (a modality with UseDicomTls) and files it', async () => {
      await deploy({});
      const [study] = await orthanc.get<string[]>('/studies');
      const answer = await orthanc.post<{ InstancesCount?: number; FailedInstancesCount?: number }>('/modalities/tlslisten/store', { Resources: [study], Synchronous: true });
      assert.equal(answer.FailedInstancesCount ?? 0, 0, JSON.stringify(answer));
      await until('the instance Orthanc sent is filed', () => received.length === 1, { describe: seen });
      const filed = received[0]?.payload.data as InstancePayload;
      assert.equal(filed.callingAET, 'ORTHANC');
      assert.equal(filed.calledAET, 'TLSLISTEN');
      assert.ok(readFileSync(filed.path).length > 132, 'the filed instance is on disk');
      assert.equal(statSync(filed.path).mode & 0o777, 0o640, 'patient data readable by owner and group only');
      assert.deepEqual(caught, []);
    });

    it('refuses senders without a certificate from tlsCa, or without TLS, and says why on the receiving side', async () => {
      await deploy({});
      const files = path.join(work, 'send');
      await writeSampleInstances(files, { patients: SAMPLE_PATIENTS.slice(3, 4), studiesPerPatient: 1, seriesPerStudy: 1, instancesPerSeries: 1, seed: 'tls-refused' });
      const plain = await storescu(listenerPort, [files], { aec: 'TLSLISTEN' });
      assert.notEqual(plain.exitCode, 0);
      await until('the sender without TLS reported', () => caught.length >= 1, { describe: seen });
      assert.match(caught[0]?.error?.message ?? '', /refused a sender that connected without TLS: this receiver accepts DICOM over TLS only/);

      assert.notEqual(await storescuTls(listenerPort, ['+tla', '+cf', certs.ca], files), 0);
      await until('the sender without a certificate reported', () => caught.length >= 2, { describe: seen });
      assert.match(caught[1]?.error?.message ?? '', /refused a sender over TLS: it offered no certificate, and with tlsCa set only senders with a certificate from that CA are accepted/);

      assert.notEqual(await storescuTls(listenerPort, ['+tls', certs.rogue.key, certs.rogue.cert, '+cf', certs.ca], files), 0);
      await until('the sender with a rogue certificate reported', () => caught.length >= 3, { describe: seen });
      assert.match(caught[2]?.error?.message ?? '', /refused a sender over TLS: its certificate is not signed by the CA in tlsCa \(\S+test-ca\.pem\)/);

      // The same sender with a certificate from tlsCa gets through.
      assert.equal(await storescuTls(listenerPort, ['+tls', certs.client.key, certs.client.cert, '+cf', certs.ca], files), 0);
      await until('the sender with a certificate from tlsCa gets through', () => received.length === 1, { describe: seen });
      assert.equal(caught.length, 3);
      assert.deepEqual(statusLog('listen').at(-1), { fill: 'red', shape: 'ring', text: 'TLS sender refused' });
    });

    it('tells the sending Orthanc and the receiver when Orthanc does not trust the receiver\'s certificate', async () => {
      await deploy({ tlsCert: certs.rogue.cert, tlsKey: certs.rogue.key });
      const [study] = await orthanc.get<string[]>('/studies');
      await assert.rejects(orthanc.post('/modalities/tlslisten/store', { Resources: [study], Synchronous: true }), /HTTP 500/);
      await until('the distrust reported on the receiving side', () => caught.length >= 1, { describe: seen });
      assert.match(caught[0]?.error?.message ?? '', /a sender did not trust this receiver's certificate \(tlsCert \S+rogue\.pem\)/);
      assert.equal(received.length, 0);
      assert.deepEqual(dcmtkDescendants().filter((p) => p.command !== 'storescp'), []);
    });
  });
});
