import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { attributeText, buildQidoPath } from '../lib/ops/find/dicomweb';
import { batchFiles, readStowAnswer } from '../lib/ops/send/stow';
import { buildFindQuery } from '../lib/ops/find/query';
import type { PypxRecord } from '../lib/core/result';
import { SettingsError, validatePacsSettings } from '../lib/core/settings';
import { generateSampleInstances, type SampleInstance } from '../testbed/generate';
import { startHttpStub } from './support/http-stub';
import { closedPort, startSilentServer, useOrthanc } from './support/pacs';
import { mergePacsOverrides } from '../nodes/pacs-policy';
import type { DicomwebPacs } from '../lib/core/settings';
import { runMove } from '../lib/ops/move';
import { runEcho } from '../lib/ops/echo';
import { runFind } from '../lib/ops/find';
import { describeHttpStatus } from '../lib/dicomweb/failures';

const USERS = { alice: 'Wonder land' };
const web = (url: string, extra: Record<string, unknown> = {}) =>
  validatePacsSettings({ protocol: 'dicomweb', url, user: 'alice', password: USERS.alice, timeout: 5, ...extra }) as DicomwebPacs;

describe('DICOMweb settings', () => {
  it('keeps a config without protocol DIMSE, as configs made before DICOMweb are', () => {
    const settings = validatePacsSettings({ aet: 'ME', aec: 'PACS', host: 'h', port: 104 });
    assert.equal(settings.dicomweb, undefined);
    assert.equal(validatePacsSettings({ protocol: '', aet: 'ME', aec: 'PACS', host: 'h', port: 104 }).dicomweb, undefined);
  });

  it('needs only a URL for DICOMweb, takes host and port from it, and names every bad field', () => {
    const settings = validatePacsSettings({ protocol: 'dicomweb', url: 'https://pacs.example.org/dicom-web/', token: 'abc.def' });
    assert.deepEqual(settings.dicomweb, { url: 'https://pacs.example.org/dicom-web', token: 'abc.def', retries: 2 });
    assert.equal(settings.host, 'pacs.example.org');
    assert.equal(settings.port, 443);
    assert.throws(() => validatePacsSettings({ protocol: 'dicomweb' }), /url \(the DICOMweb service root.*\) is empty/);
    assert.throws(() => validatePacsSettings({ protocol: 'dicomweb', url: 'ftp://x/y' }), /must start with http:\/\/ or https:\/\//);
    assert.throws(() => validatePacsSettings({ protocol: 'dicomweb', url: 'https://bob:pw@x/y' }), /must not hold a user name or password/);
    assert.throws(() => validatePacsSettings({ protocol: 'dicomweb', url: 'https://x/y', password: 'p' }), /a password is set but no user/);
    assert.throws(() => validatePacsSettings({ protocol: 'dicomweb', url: 'https://x/dicom-web?access_token=SECRET' }), (err: SettingsError) =>
      /url "https:\/\/x\/dicom-web" must be the service root, without \?query/.test(err.message) && !err.message.includes('SECRET'));
    assert.throws(() => validatePacsSettings({ protocol: 'dicomweb', url: 'https://x/y', token: 'Bearer abc' }), /without "Bearer"/);
    assert.throws(() => validatePacsSettings({ protocol: 'dicomweb', url: 'https://x/y', retries: 11 }), /retries must be a whole number from 0 to 10/);
    assert.throws(() => validatePacsSettings({ protocol: 'http', url: 'https://x/y' }), (err: SettingsError) => /protocol must be one of dimse, dicomweb/.test(err.message));
  });
});

describe('DICOMweb settings from a message', () => {
  const base = { protocol: 'dicomweb', url: 'https://pacs.example.org/dicom-web', user: 'svc', password: 'secret' };
  it('never lets a message choose the service, its credentials or retries: the config\'s credentials stay with the config\'s URL', () => {
    for (const overrides of [{ url: 'https://collector.example.net/dicom-web' }, { token: 'theirs' }, { user: 'x', password: 'y' }, { retries: 0 }, { protocol: 'dimse' }]) {
      assert.throws(() => mergePacsOverrides(base, overrides, true), new RegExp(`msg\\.pacs cannot set ${Object.keys(overrides).join(', ')}: `));
    }
    const timeoutOnly = mergePacsOverrides(base, { timeout: 5 }, true);
    assert.deepEqual(timeoutOnly.dicomweb, { url: 'https://pacs.example.org/dicom-web', user: 'svc', password: 'secret', retries: 2 });
    assert.equal(timeoutOnly.timeout, 5);
  });
});

describe('QIDO-RS query and answer', () => {
  it('matches keys with a value, asks the others back with includefield, turns UID lists into commas and asks one more than the limit', () => {
    const request = buildFindQuery('SERIES', { PatientName: 'Müller*', StudyDate: '20200101-20201231', SeriesInstanceUID: '1.2.3\\1.2.4' }, ['Modality']);
    assert.equal(buildQidoPath(request, 5),
      '/series?includefield=StudyInstanceUID&SeriesInstanceUID=1.2.3%2C1.2.4&includefield=Modality&PatientName=M%C3%BCller*&StudyDate=20200101-20201231&limit=6');
    assert.equal(buildQidoPath(buildFindQuery('IMAGE', {}, ['PatientID'])), '/instances?includefield=StudyInstanceUID&includefield=SeriesInstanceUID&includefield=SOPInstanceUID&includefield=PatientID');
    assert.throws(() => buildQidoPath(buildFindQuery('PATIENT', {})), /QIDO-RS has no PATIENT level: query at STUDY level/);
  });

  it('gives values as the DIMSE path does: person name groups joined by =, numbers as text, several values by backslash', () => {
    assert.equal(attributeText({ vr: 'PN', Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }] }), 'Yamada^Tarou=山田^太郎=やまだ^たろう');
    assert.equal(attributeText({ vr: 'PN', Value: [{ Alphabetic: 'Wang^XiaoDong', Ideographic: '王^小东' }] }), 'Wang^XiaoDong=王^小东');
    assert.equal(attributeText({ vr: 'PN', Value: [{ Ideographic: '洪^吉洞' }] }), '=洪^吉洞');
    assert.equal(attributeText({ vr: 'IS', Value: [12] }), '12');
    assert.equal(attributeText({ vr: 'CS', Value: ['CT', 'MR'] }), 'CT\\MR');
    assert.equal(attributeText({ vr: 'PN' }), '');
    assert.equal(attributeText({ vr: 'SQ', Value: [{}] }), '');
  });
});

describe('STOW-RS batches and answers', () => {
  it('bounds each batch by bytes and by count, a larger file going alone', () => {
    const files = [10, 10, 10, 50, 10, 10, 10, 10].map((size, i) => ({ size, i }));
    assert.deepEqual(batchFiles(files, 30, 10).map((b) => b.map((f) => f.i)), [[0, 1, 2], [3], [4, 5, 6], [7]]);
    assert.deepEqual(batchFiles(files, 1000, 3).map((b) => b.length), [3, 3, 2]);
  });

  it('reads sent, warning and failed instances with the service\'s reasons; one not mentioned counts as failed', () => {
    const answer = {
      '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.1'] } }, { '00081155': { vr: 'UI', Value: ['1.2'] }, '00081196': { vr: 'US', Value: [0xb000] } }] },
      '00081198': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.3'] }, '00081197': { vr: 'US', Value: [0xc122] } }] },
    };
    const files = ['1.1', '1.2', '1.3', '1.4'].map((uid) => ({ path: `/f/${uid}`, size: 1, SOPInstanceUID: uid }));
    assert.deepEqual(readStowAnswer(answer, files), [
      { path: '/f/1.1', SOPInstanceUID: '1.1', status: 'sent' },
      { path: '/f/1.2', SOPInstanceUID: '1.2', status: 'warning', reason: 'Coercion of data elements (0xB000)', code: '0xb000' },
      { path: '/f/1.3', SOPInstanceUID: '1.3', status: 'failed', reason: 'the service refused to store it: Transfer Syntax not supported (0xC122)', code: '0xc122' },
      { path: '/f/1.4', SOPInstanceUID: '1.4', status: 'failed', reason: 'the service\'s answer does not mention this instance' },
    ]);
  });
});

describe('HTTP failures in plain words', () => {
  const settings = web('https://pacs.example.org/dicom-web');
  const say = (status: number, text = '') => describeHttpStatus(status, text, '', settings, 'GET x', 'the QIDO-RS query');
  it('names 401, 403, 404, 413 and 5xx for what they mean to a PACS administrator', () => {
    assert.match(say(401, 'Unauthorized').message, /refused user "alice" and its password \(HTTP 401 Unauthorized\): check the credentials/);
    assert.match(describeHttpStatus(401, '', '', web('https://x/y', { user: undefined, password: undefined }), '', 'q').message, /asks for credentials \(HTTP 401\): set a user and password, or a token/);
    assert.match(say(403).message, /knows user "alice" and its password but does not allow the QIDO-RS query/);
    assert.match(say(404).message, /found nothing for the QIDO-RS query \(HTTP 404\): check the service root URL/);
    assert.match(say(413).message, /refused the QIDO-RS query as too large \(HTTP 413\): send smaller batches/);
    assert.equal(say(503).kind, 'server-error');
    assert.match(say(503).message, /failed to serve the QIDO-RS query: HTTP 503, a fault on the server's side/);
  });
});

describe('DICOMweb against a real Orthanc with its DICOMweb plugin and authentication on', () => {
  const pacs = useOrthanc({ dicomweb: true, users: USERS, defaultEncoding: 'Utf8', extra: { DicomAlwaysAllowFind: true } });
  let instances: SampleInstance[];
  before(async function () {
    this.timeout(60000);
    instances = [...generateSampleInstances({ studiesPerPatient: 1, seriesPerStudy: 2, instancesPerSeries: 2, seed: 'dicomweb' })];
    await pacs().upload(instances.map((i) => i.bytes));
  });
  const url = () => pacs().dicomwebUrl as string;
  const dimse = () => validatePacsSettings({ aet: 'PYPXTEST', aec: pacs().aet, host: pacs().host, port: pacs().dicomPort, timeout: 5 });
  const UNIQUE = { STUDY: 'StudyInstanceUID', SERIES: 'SeriesInstanceUID', IMAGE: 'SOPInstanceUID' } as const;
  const byUid = (records: PypxRecord[], key: string) =>
    records.map(({ uid: _counter, ...rest }) => rest).sort((a, b) => String(a[key]?.value).localeCompare(String(b[key]?.value)));

  for (const level of ['STUDY', 'SERIES', 'IMAGE'] as const) {
    it(`finds at ${level} level the same pypx records as C-FIND on the same data, names in every character set exact`, async () => {
      const overWeb = await runFind(web(url()), {}, { level });
      const overDimse = await runFind(dimse(), {}, { level });
      assert.equal(overWeb.error, undefined, overWeb.error?.message);
      assert.equal(overDimse.error, undefined, overDimse.error?.message);
      const expected = level === 'STUDY' ? 10 : level === 'SERIES' ? 20 : 40;
      assert.equal(overWeb.result.data.length, expected);
      assert.deepEqual(byUid(overWeb.result.data, UNIQUE[level]), byUid(overDimse.result.data, UNIQUE[level]));
      assert.deepEqual(overWeb.result.data.map((r) => r.uid?.value), overWeb.result.data.map((_, i) => i));
      const names = new Set(overWeb.result.data.map((r) => r.PatientName?.value));
      for (const name of ['Yamada^Tarou=山田^太郎=やまだ^たろう', 'Hong^Gildong=洪^吉洞=홍^길동', 'Wang^XiaoDong=王^小东', 'Иванов^Иван', 'قباني^لنزار', 'שרון^דבורה']) {
        assert.ok(names.has(name), `${name} is among the names found`);
      }
      assert.match(overWeb.result.command, new RegExp(`^GET ${url().replace(/[.]/g, '\\.')}/`));
    });
  }

  it('matches wildcards, date ranges and UID lists, and stops at the limit saying so', async () => {
    const wild = await runFind(web(url()), { PatientName: 'Yama*', StudyDate: '20190101-20191231' }, { level: 'STUDY' });
    assert.deepEqual(wild.result.data.map((r) => r.PatientID?.value), ['PX0005']);
    const series = [...new Set(instances.map((i) => i.seriesInstanceUID))].slice(0, 3);
    const listed = await runFind(web(url()), { SeriesInstanceUID: series.join('\\') }, { level: 'SERIES' });
    assert.deepEqual(listed.result.data.map((r) => r.SeriesInstanceUID?.value).sort(), [...series].sort());
    const limited = await runFind(web(url()), {}, { level: 'SERIES', limit: 4 });
    assert.equal(limited.result.data.length, 4);
    assert.equal(limited.limited, true);
  });

  it('refuses PATIENT level with an error that says QIDO has none', async () => {
    const outcome = await runFind(web(url()), {}, { level: 'PATIENT' });
    assert.equal(outcome.result.status, 'error');
    assert.equal(outcome.error?.kind, 'bad-input');
    assert.match(outcome.error?.message ?? '', /QIDO-RS has no PATIENT level/);
  });

  it('echoes with an authenticated QIDO-RS query', async () => {
    const outcome = await runEcho(web(url()));
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.result.status, 'success');
    assert.match(outcome.result.command, /^GET .*\/dicom-web\/studies\?limit=1/);
  });

  it('says a wrong password is refused, and a missing one asked for', async () => {
    const wrong = await runFind(web(url(), { password: 'not it' }), {}, { level: 'STUDY' });
    assert.equal(wrong.error?.kind, 'unauthorized');
    assert.match(wrong.error?.message ?? '', /refused user "alice" and its password \(HTTP 401/);
    const none = await runEcho(web(url(), { user: undefined, password: undefined }));
    assert.equal(none.result.status, 'error');
    assert.match(none.error?.message ?? '', /asks for credentials \(HTTP 401/);
  });

  it('says a wrong URL has no DICOMweb service there', async () => {
    const outcome = await runFind(web(`${pacs().url}/dicomweb-typo`), {}, { level: 'STUDY' });
    assert.equal(outcome.error?.kind, 'not-found');
    assert.match(outcome.error?.message ?? '', /found nothing for the QIDO-RS query \(HTTP 404.*check the service root URL/);
  });

  it('fails a move at once: DICOMweb has no move, px-get does the job', async () => {
    const outcome = await runMove(web(url()), { level: 'STUDY', StudyInstanceUID: instances[0]?.studyInstanceUID });
    assert.equal(outcome.error?.kind, 'bad-input');
    assert.match(outcome.error?.message ?? '', /DICOMweb has no move \(C-MOVE\): use px-get/);
  });
});

describe('DICOMweb when the service is down, slow, failing or redirecting', () => {
  it('says the connection was refused when nothing listens', async () => {
    const port = await closedPort();
    const outcome = await runFind(web(`http://127.0.0.1:${port}/dicom-web`, { retries: 1 }), {}, { level: 'STUDY' });
    assert.equal(outcome.error?.kind, 'refused');
    assert.match(outcome.error?.message ?? '', new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}: no web server listens there`));
  });

  it('gives up on a service that accepts the connection and never answers, within the timeout', async function () {
    this.timeout(20000);
    const silent = await startSilentServer();
    try {
      const outcome = await runEcho(web(`http://127.0.0.1:${silent.port}/dicom-web`, { timeout: 1, retries: 0 }));
      assert.equal(outcome.error?.kind, 'timeout');
      assert.match(outcome.error?.message ?? '', /no answer from .* within 1 s/);
    } finally {
      await silent.stop();
    }
  });

  it('tries a 5xx again and succeeds when the service recovers; never repeats a 4xx', async () => {
    let calls = 0;
    const stub = await startHttpStub((request, response) => {
      calls++;
      if (request.url?.startsWith('/bad')) return void response.writeHead(400).end('no');
      if (request.url?.startsWith('/forbidden')) return void response.writeHead(403, 'Forbidden').end('{"error": "read-only role"}');
      if (calls < 3) return void response.writeHead(503, 'Service Unavailable').end('busy');
      response.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
    });
    try {
      const outcome = await runFind(web(`${stub.url}/dicom-web`, { retries: 2 }), {}, { level: 'STUDY' });
      assert.equal(outcome.error, undefined);
      assert.deepEqual(outcome.result.data, []);
      assert.equal(stub.requests.length, 3);
      const failing = await runFind(web(`${stub.url}/bad`, { retries: 2 }), {}, { level: 'STUDY' });
      assert.match(failing.error?.message ?? '', /HTTP 400/);
      assert.equal(stub.requests.length, 4, 'a 400 is not tried again');
      const forbidden = await runFind(web(`${stub.url}/forbidden`, { retries: 2 }), {}, { level: 'STUDY' });
      assert.equal(forbidden.error?.kind, 'unauthorized');
      assert.match(forbidden.error?.message ?? '', /knows user "alice" and its password but does not allow the QIDO-RS query \(HTTP 403 Forbidden\)/);
      assert.match(String(forbidden.result.data as unknown), /read-only role/, 'the service\'s own words kept in the result');
      assert.equal(stub.requests.length, 5, 'a 403 is not tried again');
      calls = 0;
      const exhausted = await runFind(web(`${stub.url}/dicom-web`, { retries: 1 }), {}, { level: 'STUDY' });
      assert.equal(exhausted.error?.kind, 'server-error');
      assert.match(exhausted.error?.message ?? '', /HTTP 503 Service Unavailable \(2 attempts\)/);
    } finally {
      await stub.stop();
    }
  });

  it('follows a redirect on the same service, credentials included', async () => {
    const stub = await startHttpStub((request, response) => {
      if (request.url?.startsWith('/old/')) return void response.writeHead(301, { location: request.url.replace('/old/', '/new/') }).end();
      response.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
    });
    try {
      const outcome = await runEcho(web(`${stub.url}/old`));
      assert.equal(outcome.error, undefined);
      assert.deepEqual(stub.requests.map((r) => r.path.split('?')[0]), ['/old/studies', '/new/studies']);
      assert.equal(stub.requests[1]?.authorization, `Basic ${Buffer.from(`alice:${USERS.alice}`).toString('base64')}`);
    } finally {
      await stub.stop();
    }
  });

  it('fails a find and an echo whose answer is cut short mid-body as a lost connection, never as an internal error', async () => {
    const stub = await startHttpStub((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/dicom+json', 'content-length': '1000' });
      // The start of the promised 1000 bytes, then the connection drops once they are on their way.
      response.write('[{"0020000D": ', () => response.socket?.destroy());
    });
    try {
      const found = await runFind(web(`${stub.url}/dicom-web`, { retries: 0 }), {}, { level: 'STUDY' });
      assert.equal(found.result.status, 'error');
      assert.match(found.error?.message ?? '', /^DICOMweb: .*(closed the connection during|no answer from) .*QIDO-RS query/);
      const echoed = await runEcho(web(`${stub.url}/dicom-web`, { retries: 0 }));
      assert.match(echoed.error?.message ?? '', /^DICOMweb: .*(closed the connection during|no answer from) .*QIDO-RS query/);
    } finally {
      await stub.stop();
    }
  });

  it('sends a bearer token, and trusts a private CA for https only when tlsCa names it', async function () {
    this.timeout(30000);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-ca-'));
    try {
      const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pypx test CA');
      run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
      const ext = path.join(dir, 'san.ext');
      writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\n');
      run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', ext);
      const stub = await startHttpStub((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
      }, { key: readFileSync(path.join(dir, 'server.key')), cert: readFileSync(path.join(dir, 'server.pem')) });
      try {
        const token = { user: undefined, password: undefined, token: 'eyJ.test.token', retries: 0 };
        const untrusted = await runEcho(web(`${stub.url}/dicom-web`, token));
        assert.equal(untrusted.error?.kind, 'tls');
        assert.match(untrusted.error?.message ?? '', /certificate of 127\.0\.0\.1:\d+ is not trusted .*give the CA that signed it as tlsCa/);
        const trusted = await runEcho(web(`${stub.url}/dicom-web`, { ...token, tlsCa: path.join(dir, 'ca.pem') }));
        assert.equal(trusted.error, undefined, trusted.error?.message);
        assert.equal(stub.requests.at(-1)?.authorization, 'Bearer eyJ.test.token');
      } finally {
        await stub.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
