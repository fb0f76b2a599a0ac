// Defects found by a read of px-get's and px-send's code (issue 20), each shown by what a user would
// meet: a tool run as another, an OS error thrown where an outcome is promised, and the like.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { AssociationQueue } from '../lib/core/queue';
import { validatePacsSettings } from '../lib/core/settings';
import { GetLogReader } from '../lib/ops/get/getscu';
import type { Pass, Retrieve } from '../lib/ops/get/retrieve';
import { retrieveRest } from '../lib/ops/get/second-pass';
import { runGet } from '../lib/ops/get';
import { runSend, send } from '../lib/ops/send';
import { collectSendFiles } from '../lib/ops/send/files';
import type { FileMeta } from '../lib/dicom/file-meta';
import { parseMoveRequests } from '../lib/ops/move/request';
import { freePort } from '../testbed/orthanc';
import { startHttpStub } from './support/http-stub';
import { writeSampleInstances } from '../testbed/generate';
import { fileReceivedInstance, type FilingDirs } from '../lib/filing/file-instance';
import { readReceivedHeader } from '../lib/filing/header';

describe('lib: px-get and px-send defects (issue 20)', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-defects-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('px-get\'s C-FIND fallback never runs settings.executable (getscu\'s) as findscu', async () => {
    // An `executable` that leaves a mark when run: the C-FIND that lists what an ended C-GET left must not run it.
    const marker = path.join(dir, 'ran');
    const getscu = path.join(dir, 'getscu');
    await writeFile(getscu, `#!/bin/sh\ntouch '${marker}'\nexit 1\n`);
    await chmod(getscu, 0o755);
    const settings = validatePacsSettings({ aet: 'US', aec: 'PACS', host: '127.0.0.1', port: await freePort(), timeout: 5, executable: getscu });
    const request = parseMoveRequests({ StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.4' })[0]!;
    const reader = new GetLogReader({ stored: () => undefined, answered: () => undefined, progress: () => undefined });
    reader.read('I: Received C-GET Response (Failed: UnableToProcess)');
    const first: Pass = { reader, command: 'getscu' };
    const retrieve = { received: new Set<string>(), run: async () => { throw new Error('no C-GET expected: nothing is listed'); } } as unknown as Retrieve;
    const rest = await retrieveRest(retrieve, request, first, settings, { dataDir: dir });
    assert.equal(existsSync(marker), false, 'settings.executable was run as findscu');
    assert.equal(rest.hard.size, 1);
  });

  it('runGet answers a data folder it cannot write in (an OS error from mkdir) with an error naming the folder, never a throw', async () => {
    const notAFolder = path.join(dir, 'data');
    await writeFile(notAFolder, '');
    const settings = validatePacsSettings({ aet: 'US', aec: 'PACS', host: '127.0.0.1', port: await freePort(), timeout: 5 });
    const outcome = await runGet(settings, parseMoveRequests({ StudyInstanceUID: '1.2.3' })[0]!, { dataDir: notAFolder });
    assert.equal(outcome.result.status, 'error');
    assert.match(outcome.error?.message ?? '', new RegExp(`cannot make a working folder in ${notAFolder}/incoming: not a folder \\(ENOTDIR`));
    assert.equal(outcome.error?.reason, `not a folder: ${notAFolder}/incoming`, 'the status names the cause and the folder, as px-listen\'s does');
  });

  it('the module\'s send() answers a folder it cannot read (an OS error) with an error naming it, never a throw', async () => {
    // A folder too deep to name (ENAMETOOLONG): as root, no permission denies a read.
    const deep = path.join(dir, 'deep');
    await mkdir(deep);
    const cwd = process.cwd();
    try {
      process.chdir(deep);
      for (let i = 0; i < 25; i++) {
        await mkdir('d'.repeat(200));
        process.chdir('d'.repeat(200));
      }
    } finally {
      process.chdir(cwd);
    }
    try {
      const answer = await send({ aet: 'US', aec: 'PACS', server_ip: '127.0.0.1', server_port: '104' }, deep);
      assert.equal(answer.status, 'error');
      assert.equal(answer.failed, 1);
      assert.match(answer.data[0]?.file ?? '', /^\/tmp\/pypx-defects-.*\/deep\/d+\//);
      assert.match(answer.data[0]?.reason ?? '', /^nothing was sent: cannot read the files to send: ENAMETOOLONG: .*scandir '\/tmp\/pypx-defects-/);
    } finally {
      // Node's rm cannot unlink names that long: rm(1) takes the tree from inside.
      execFileSync('rm', ['-rf', 'd'.repeat(200)], { cwd: deep });
    }
  });

  it('a C-GET waiting its turn on the association queue neither polls its folder nor has one made', async () => {
    const queue = new AssociationQueue(1);
    let release = () => undefined as void;
    const busy = queue.run(() => new Promise<void>((resolve) => { release = resolve; }));
    const dataDir = path.join(dir, 'data');
    const realSetInterval = global.setInterval;
    let polls = 0;
    global.setInterval = ((fn: () => void, ms?: number) => {
      polls++;
      return realSetInterval(fn, ms);
    }) as typeof setInterval;
    const stop = new AbortController();
    try {
      const settings = validatePacsSettings({ aet: 'US', aec: 'PACS', host: '127.0.0.1', port: await freePort(), timeout: 5 });
      const outcome = runGet(settings, parseMoveRequests({ StudyInstanceUID: '1.2.3' })[0]!, { dataDir, queue, signal: stop.signal });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(polls, 0, 'a timer was started for a retrieve still in the queue');
      assert.equal(existsSync(path.join(dataDir, 'incoming')), false, 'a folder was made for a retrieve still in the queue');
      stop.abort();
      assert.match((await outcome).error?.message ?? '', /never started/);
      assert.equal(existsSync(path.join(dataDir, 'incoming')), false);
    } finally {
      global.setInterval = realSetInterval;
      release();
      await busy;
    }
  });

  it('a send of many associations given no queue (commands, module) opens at most the default concurrency at once', async () => {
    // A storescu that notes how many of it run at once; 7,501 files are four associations.
    const tools = path.join(dir, 'tools');
    const running = path.join(dir, 'running');
    await mkdir(tools);
    await mkdir(running);
    await writeFile(path.join(tools, 'storescu'), `#!/bin/sh\ntouch '${running}'/$$\nls '${running}' | wc -l >> '${dir}/counts'\nsleep 0.3\nrm '${running}'/$$\n`);
    await chmod(path.join(tools, 'storescu'), 0o755);
    const files = Array.from({ length: 7501 }, (_, i) => path.join(dir, `${i}.dcm`));
    const meta = new Map<string, FileMeta>(files.map((file) => [file, { kind: 'dicom', sopClass: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1' }]));
    const settings = validatePacsSettings({ aet: 'US', aec: 'PACS', host: '127.0.0.1', port: 104, timeout: 5, dcmtkDir: tools });
    const outcome = await runSend(settings, { files, missing: [], meta });
    assert.equal(outcome.payload.command.split('\n').length, 4);
    const counts = (await readFile(path.join(dir, 'counts'), 'utf8')).trim().split('\n').map(Number);
    assert.equal(counts.length, 4);
    assert.ok(Math.max(...counts) <= 2, `storescu ran ${Math.max(...counts)} at once`);
  });

  it('an instance filed, deleted by the flow, and received again is not called a duplicate; one still there is', async () => {
    const [sample] = await writeSampleInstances(path.join(dir, 'sample'), { instancesPerSeries: 1, seriesPerStudy: 1, seed: 'defects-duplicate' });
    const source = path.join(dir, 'sample', `${sample!.sopInstanceUID}.dcm`);
    const dirs: FilingDirs = { dataDir: path.join(dir, 'data'), calledAET: 'US', knownDirs: new Set(), knownInfo: new Set() };
    await mkdir(dirs.dataDir);
    const receive = async () => {
      const incoming = path.join(dir, 'received.dcm');
      await copyFile(source, incoming);
      return fileReceivedInstance(incoming, readReceivedHeader(incoming, true).header, dirs).payload;
    };
    const first = await receive();
    assert.equal(first.duplicate, false);
    await unlink(first.path);
    assert.equal((await receive()).duplicate, false, 'a deleted file was reported as a duplicate');
    assert.equal((await receive()).duplicate, true);
  });

  it('px-get removes the working folders a crashed px-get left in <dataDir>/incoming, and only those whose process is gone', async () => {
    const dead = spawnSync('true').pid as number;
    const host = os.hostname();
    const incoming = path.join(dir, 'data', 'incoming');
    const left = [`.get-${dead}-${host}-Ab12Cd`, `.wado-${dead}-${host}-xY34zW`];
    const kept = [`.get-${process.pid}-${host}-Qq56Rr`, `.get-${dead}-another-machine-Zz78Tt`, 'not-ours'];
    for (const name of [...left, ...kept]) {
      await mkdir(path.join(incoming, name), { recursive: true });
      await writeFile(path.join(incoming, name, 'instance.dcm'), 'patient data');
    }
    await writeFile(path.join(incoming, `${left[0]}.log.cfg`), '');
    const settings = validatePacsSettings({ aet: 'US', aec: 'PACS', host: '127.0.0.1', port: await freePort(), timeout: 5 });
    await runGet(settings, parseMoveRequests({ StudyInstanceUID: '1.2.3' })[0]!, { dataDir: path.join(dir, 'data') });
    assert.deepEqual(readdirSync(incoming).sort(), [...kept].sort());
  });

  it('a WADO-RS retrieve that brings no instance is an error saying the service found nothing to send', async () => {
    const stub = await startHttpStub((_request, response) => {
      response.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=none' });
      response.end('--none--\r\n');
    });
    try {
      const settings = validatePacsSettings({ protocol: 'dicomweb', url: `${stub.url}/dicom-web`, timeout: 5, retries: 0 });
      const outcome = await runGet(settings, parseMoveRequests({ StudyInstanceUID: '1.2.3' })[0]!, { dataDir: path.join(dir, 'data') });
      assert.equal(outcome.result.status, 'error');
      assert.equal(outcome.completed, 0);
      assert.equal(outcome.error?.kind, 'not-found');
      assert.match(String(outcome.result.data), /^DICOMweb: http:\/\/127\.0\.0\.1:\d+\/dicom-web found nothing to send for study 1\.2\.3: /);
    } finally {
      await stub.stop();
    }
  });

  it('px-send\'s data lists each file that failed once, as many as `failed` says, however the send ends', async () => {
    await writeSampleInstances(path.join(dir, 'files'), { instancesPerSeries: 1, seriesPerStudy: 1, seed: 'defects-send-once' });
    await writeFile(path.join(dir, 'files', 'notes.txt'), 'not DICOM');
    await symlink(path.join(dir, 'gone.dcm'), path.join(dir, 'files', 'dangling.dcm'));
    const settings = validatePacsSettings({ aet: 'US', aec: 'PACS', host: '127.0.0.1', port: await freePort(), timeout: 5 });
    const once = (data: Array<{ file: string }>, failed: number) => {
      assert.equal(data.length, failed, JSON.stringify(data));
      assert.equal(new Set(data.map((f) => f.file)).size, data.length, `a file listed twice: ${JSON.stringify(data)}`);
    };
    // The same folder given twice: its files are sent once, and what cannot be read fails once.
    const twice = await collectSendFiles([path.join(dir, 'files'), path.join(dir, 'files')]);
    once(twice.missing, 1);
    // A send that ends in an error of its own (here a progress callback that throws, after a file failed alone).
    const list = await collectSendFiles([path.join(dir, 'files'), path.join(dir, 'gone.dcm'), path.join(dir, 'files', 'notes.txt')]);
    const outcome = await runSend(settings, list, { onProgress: () => { throw new Error('the callback broke'); } });
    assert.equal(outcome.payload.status, 'error');
    once(outcome.payload.data, outcome.payload.failed);
    assert.equal(outcome.payload.failed, outcome.total);
  });
});
