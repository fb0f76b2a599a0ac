// pypx's module API: require('node-red-contrib-pypx') and import, called with pypx's settings dicts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateSampleInstances } from '../testbed/generate';
import { freePort } from '../testbed/orthanc';
import { packagedUserDir } from './support/packaged';
import { useOrthanc } from './support/pacs';
import { startReceiver } from './support/receiver';

const run = promisify(execFile);
type Pypx = typeof import('../lib/index');

describe('pypx module API', function () {
  this.timeout(120000);
  const pacs = useOrthanc({ modalities: { chips: ['CHIPS', '127.0.0.1', 104], receiver: ['RECEIVER', '127.0.0.1', 104] } });
  // pypx's README queries PatientID 32124, passed as a number.
  const instances = [...generateSampleInstances({ seed: 'module', patients: [{ id: '32124', name: 'Doe^Jane', charset: '' }], seriesPerStudy: 2, instancesPerSeries: 2 })];
  const pacsSettings = () => ({ executable: '/usr/bin/echoscu', aec: pacs().aet, aet: 'CHIPS', server_ip: '127.0.0.1', server_port: String(pacs().dicomPort) });

  before(async () => {
    await pacs().upload(instances.map((i) => i.bytes));
  });

  it('is what require() and import give from the published package, with type declarations', async () => {
    const userDir = await packagedUserDir();
    const names = 'Object.keys(m).filter((k) => ["echo", "find", "move", "listen"].includes(k) && typeof m[k] === "function").sort().join()';
    const required = await run(process.execPath, ['-e', `const m = require("node-red-contrib-pypx"); console.log(${names})`], { cwd: userDir });
    assert.equal(required.stdout.trim(), 'echo,find,listen,move');
    const imported = await run(process.execPath, ['--input-type=module', '-e', `import * as m from "node-red-contrib-pypx"; console.log(${names})`], { cwd: userDir });
    assert.equal(imported.stdout.trim(), 'echo,find,listen,move');
    const named = await run(process.execPath, ['--input-type=module', '-e', `import { echo } from "node-red-contrib-pypx"; console.log(JSON.stringify(await echo(${JSON.stringify(pacsSettings())})))`], { cwd: userDir });
    assert.equal(JSON.parse(named.stdout).status, 'success');
    const types = path.join(userDir, 'node_modules', 'node-red-contrib-pypx', 'dist', 'lib', 'index.d.ts');
    assert.ok(existsSync(types), 'index.d.ts is not in the package');
  });

  it('echo(pacs_settings) answers as pypx\'s README shows', async () => {
    const pypx = require('../lib/index') as Pypx;
    const output = await pypx.echo(pacsSettings());
    assert.deepEqual({ ...output, command: '' }, { status: 'success', command: '', data: '' });
    assert.match(output.command, /^\/usr\/bin\/echoscu .* -aec ORTHANC -aet CHIPS 127\.0\.0\.1 \d+$/);
  });

  it('find({...pacs_settings, PatientID: 32124}) answers pypx\'s records; pypx 3 keys work too', async () => {
    const pypx = require('../lib/index') as Pypx;
    const { executable: _echoscu, ...settings } = pacsSettings();
    const output = await pypx.find({ ...settings, PatientID: 32124 });
    assert.equal(output.status, 'success');
    assert.match(output.command, /findscu .*-k PatientID=32124/);
    const records = output.data as Array<Record<string, { value: string | number }>>;
    assert.deepEqual(new Set(records.map((r) => r.SeriesInstanceUID?.value)), new Set(instances.map((i) => i.seriesInstanceUID)));
    const pypx3 = await pypx.find({ aet: 'CHIPS', aec: pacs().aet, serverIP: '127.0.0.1', serverPort: pacs().dicomPort, PatientID: '32124' });
    assert.equal((pypx3.data as unknown[]).length, records.length);
    const bad = await pypx.find({ ...settings, PatientNam: 'x' });
    assert.equal(bad.status, 'error');
    assert.match(String(bad.data), /"PatientNam" is not a DICOM keyword/);
  });

  it('move({...pacs_settings, aetl, SeriesInstanceUID}) sends the series to aetl', async () => {
    const pypx = require('../lib/index') as Pypx;
    const receiver = await startReceiver({ aet: 'RECEIVER' });
    try {
      await fetch(`${pacs().url}/modalities/receiver`, { method: 'PUT', body: JSON.stringify({ AET: 'RECEIVER', Host: '127.0.0.1', Port: receiver.port }) });
      const { executable: _echoscu, ...settings } = pacsSettings();
      const series = instances[0]!.seriesInstanceUID;
      const output = await pypx.move({ ...settings, aetl: 'RECEIVER', SeriesInstanceUID: series });
      assert.equal(output.status, 'success', String(output.data));
      assert.equal(output.data, '');
      assert.equal(output.completed, 2);
      // The series given alone: its study's UID is found with a C-FIND first, and the move names both.
      const study = instances.find((i) => i.seriesInstanceUID === series)!.studyInstanceUID;
      assert.match(output.command, new RegExp(`^\\S*findscu .*-k SeriesInstanceUID=${series} .*\\n\\S*movescu --move RECEIVER .*-k QueryRetrieveLevel=SERIES -k StudyInstanceUID=${study} -k SeriesInstanceUID=${series} `));
      assert.deepEqual((await receiver.received()).sort(), instances.filter((i) => i.seriesInstanceUID === series).map((i) => i.sopInstanceUID).sort());
    } finally {
      await receiver.stop();
    }
  });

  it('move() takes pypx 0.8\'s own keys, aet_listener and series_uid, and refuses a key it does not know by name', async () => {
    const pypx = require('../lib/index') as Pypx;
    const receiver = await startReceiver({ aet: 'RECEIVER' });
    try {
      await fetch(`${pacs().url}/modalities/receiver`, { method: 'PUT', body: JSON.stringify({ AET: 'RECEIVER', Host: '127.0.0.1', Port: receiver.port }) });
      const { executable: _echoscu, ...settings } = pacsSettings();
      const series = instances[instances.length - 1]!.seriesInstanceUID;
      // As pypx 0.8's move.py reads them, and its own test suite calls it.
      const output = await pypx.move({ ...settings, aet_listener: 'RECEIVER', series_uid: series });
      assert.equal(output.status, 'success', String(output.data));
      assert.equal(output.completed, 2);
      assert.match(output.command, /movescu --move RECEIVER .*-k SeriesInstanceUID=/);
      assert.deepEqual((await receiver.received()).sort(), instances.filter((i) => i.seriesInstanceUID === series).map((i) => i.sopInstanceUID).sort());

      const typo = await pypx.move({ ...settings, aet_listener: 'RECEIVER', seriesUID: series, PatientID: '32124' });
      assert.equal(typo.status, 'error');
      assert.match(String(typo.data), /^nothing was moved: unknown keys seriesUID, PatientID \(move\(\) takes /);
      const twice = await pypx.move({ ...settings, aetl: 'RECEIVER', aet_listener: 'OTHER', series_uid: series });
      assert.match(String(twice.data), /aet_listener and aetl are the same key, given two values/);
    } finally {
      await receiver.stop();
    }
  });

  it('listen({aet, port, d}) yields what arrives as the dicts px-listen sends, until close()', async () => {
    const pypx = require('../lib/index') as Pypx;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-module-listen-'));
    const port = await freePort();
    const listener = await pypx.listen({ aet: 'MODLISTEN', port, d: path.join(dir, 'data'), t: path.join(dir, 'tmp'), seriesTimeout: 1 });
    try {
      const sent = instances.filter((i) => i.seriesInstanceUID === instances[0]!.seriesInstanceUID);
      const sendDir = path.join(dir, 'send');
      await run('mkdir', ['-p', sendDir]);
      for (const instance of sent) await writeFile(path.join(sendDir, `${instance.sopInstanceUID}.dcm`), instance.bytes);
      await run('storescu', ['-aec', 'MODLISTEN', '-aet', 'SENDER', '+sd', '127.0.0.1', String(port), sendDir], { env: { ...process.env, TCP_NODELAY: '1' } });
      const seen: string[] = [];
      for await (const item of listener) {
        if (item.event === 'instance') {
          assert.equal(item.payload.status, 'success');
          assert.equal(item.payload.data.PatientID, '32124');
          seen.push(item.payload.data.SOPInstanceUID);
        } else {
          assert.equal(item.payload.data.count, sent.length);
          break;
        }
      }
      assert.deepEqual(seen.sort(), sent.map((i) => i.sopInstanceUID).sort());
    } finally {
      await listener.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
