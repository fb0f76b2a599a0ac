// Every transfer syntax storescp accepts (+xa) is filed and announced: files converted with Debian's
// DCMTK and GDCM tools, sent with dcmsend, which proposes each file's own syntax.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PacsError } from '../lib/core/errors';
import { Listener } from '../lib/ops/listen/listener';
import { SAMPLE_PATIENTS, type SamplePatient, writeSampleInstances } from '../testbed/generate';
import { freeTcpPort } from './support/store';
import type { InstancePayload } from '../lib/filing/file-instance';
import { readDicomHeaderSync } from '../lib/dicom/read-file';
import { until } from './support/until';

const run = promisify(execFile);

/** Each syntax: its UID, the tool and options that make it, and whether it needs an 8-bit image. */
const SYNTAXES: Array<{ name: string; uid: string; tool: string; args: string[]; eightBit?: boolean }> = [
  { name: 'implicit little endian', uid: '1.2.840.10008.1.2', tool: 'dcmconv', args: ['+ti'] },
  { name: 'explicit little endian', uid: '1.2.840.10008.1.2.1', tool: 'dcmconv', args: ['+te'] },
  { name: 'explicit big endian', uid: '1.2.840.10008.1.2.2', tool: 'dcmconv', args: ['+tb'] },
  { name: 'deflated', uid: '1.2.840.10008.1.2.1.99', tool: 'dcmconv', args: ['+td'] },
  { name: 'JPEG baseline', uid: '1.2.840.10008.1.2.4.50', tool: 'dcmcjpeg', args: ['+eb'], eightBit: true },
  { name: 'JPEG lossless', uid: '1.2.840.10008.1.2.4.70', tool: 'dcmcjpeg', args: ['+e1'] },
  { name: 'JPEG-LS lossless', uid: '1.2.840.10008.1.2.4.80', tool: 'dcmcjpls', args: [] },
  { name: 'JPEG 2000 lossless', uid: '1.2.840.10008.1.2.4.90', tool: 'gdcmconv', args: ['--j2k'] },
  { name: 'RLE lossless', uid: '1.2.840.10008.1.2.5', tool: 'dcmcrle', args: [] },
];
const SIZE = 64;

function pixels(frames: number, bytesPerPixel: number): Buffer {
  const data = Buffer.alloc(SIZE * SIZE * frames * bytesPerPixel);
  for (let i = 0; i < data.length; i++) data[i] = bytesPerPixel === 2 && i % 2 ? (i >> 9) & 0x0f : (i * 7) % 251;
  return data;
}

/** One source instance with its own UIDs: 16-bit (12 stored) or 8-bit, one frame or three. */
async function source(dir: string, seed: string, frames: number, eightBit: boolean): Promise<string> {
  const bits = eightBit ? [8, 8, 7] : [16, 12, 11];
  const [instance] = await writeSampleInstances(dir, {
    patients: [SAMPLE_PATIENTS[0] as SamplePatient], seriesPerStudy: 1, instancesPerSeries: 1, seed, imageSize: SIZE,
    tags: [
      { tag: 0x00280008, vr: 'IS', value: String(frames) },
      { tag: 0x00280100, vr: 'US', value: bits[0] as number },
      { tag: 0x00280101, vr: 'US', value: bits[1] as number },
      { tag: 0x00280102, vr: 'US', value: bits[2] as number },
      { tag: 0x7fe00010, vr: eightBit ? 'OB' : 'OW', value: pixels(frames, eightBit ? 1 : 2) },
    ],
  });
  return path.join(dir, `${(instance as { sopInstanceUID: string }).sopInstanceUID}.dcm`);
}

describe('px-listen and transfer syntaxes', function () {
  this.timeout(120000);
  let work: string;
  let listener: Listener | undefined;

  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'px-listen-ts-'));
  });
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
    await rm(work, { recursive: true, force: true });
  });

  it('files and announces every syntax, single and multi-frame, each kept in its own syntax', async () => {
    const send = path.join(work, 'send');
    const expected = new Map<string, string>(); // SOP Instance UID -> transfer syntax
    for (const syntax of SYNTAXES) {
      for (const frames of [1, 3]) {
        const original = await source(path.join(work, 'source'), `${syntax.name}-${frames}`, frames, syntax.eightBit === true);
        const converted = path.join(send, `${syntax.uid}-${frames}.dcm`);
        await run('mkdir', ['-p', send]);
        await run(syntax.tool, [...syntax.args, original, converted]);
        const header = readDicomHeaderSync(converted);
        assert.equal(header.transferSyntax, syntax.uid, `${syntax.tool} made ${syntax.name}`);
        expected.set(header.text('x00080018') as string, syntax.uid);
      }
    }
    const instances: InstancePayload[] = [];
    const errors: PacsError[] = [];
    listener = new Listener({ aet: 'NODERED', port: await freeTcpPort(), dataDir: path.join(work, 'data'), seriesTimeout: 1 });
    listener.on('instance', (p) => instances.push(p));
    listener.on('error', (e) => errors.push(e));
    await listener.start();
    const sent = await run('dcmsend', ['-v', '-aec', 'NODERED', '--scan-directories', '127.0.0.1', String(listener.options.port), send], { env: { ...process.env, TCP_NODELAY: '1' } });
    assert.match(`${sent.stdout}${sent.stderr}`, new RegExp(`with status SUCCESS\\s*:\\s*${expected.size}\\b`), `dcmsend stored every file:\n${sent.stdout}${sent.stderr}`);
    await until(`${expected.size} instances received`, () => instances.length >= expected.size, { timeoutMs: 10000, describe: () => ({ instances: instances.length, errors: errors.map((e) => e.message) }) });
    assert.deepEqual(errors.map((e) => e.message), []);
    assert.equal(instances.length, expected.size);
    // storescp takes uncompressed data in explicit little endian whatever the file was; the rest as sent.
    const uncompressed = new Set(SYNTAXES.slice(0, 3).map((s) => s.uid));
    for (const instance of instances) {
      assert.equal(instance.PatientID, 'PX0001');
      const sentAs = expected.get(instance.SOPInstanceUID) as string;
      assert.equal(readDicomHeaderSync(instance.path).transferSyntax, uncompressed.has(sentAs) ? '1.2.840.10008.1.2.1' : sentAs, `${instance.path} sent as ${sentAs}`);
    }
    const { tmpDir, port } = listener.options;
    assert.deepEqual((await readdir(tmpDir)).filter((n) => !n.startsWith('.')), []);

    // The same files found in the incoming folder at start (as a crash leaves them): each read in its own syntax.
    await listener.close();
    for (const name of await readdir(send)) await copyFile(path.join(send, name), path.join(tmpDir, `CT.${name}`));
    instances.length = 0;
    listener = new Listener({ aet: 'NODERED', port, dataDir: path.join(work, 'data'), seriesTimeout: 1 });
    listener.on('instance', (p) => instances.push(p));
    listener.on('error', (e) => errors.push(e));
    await listener.start();
    await until(`${expected.size} files left in the incoming folder filed`, () => instances.length >= expected.size, { timeoutMs: 10000, describe: () => ({ instances: instances.length, errors: errors.map((e) => e.message) }) });
    assert.deepEqual(errors.map((e) => e.message), []);
    assert.deepEqual(new Set(instances.map((p) => readDicomHeaderSync(p.path).transferSyntax)), new Set(SYNTAXES.map((s) => s.uid)));
    assert.ok(instances.every((p) => p.duplicate && p.PatientName === 'Smith^John'));
  });

  it('reads a deflated header without inflating the image, and quarantines a deflated file cut short', async () => {
    // 4096 x 4096 x 16 bits of one value: 32 MB that deflate to a few tens of KB.
    const big = await writeSampleInstances(path.join(work, 'source'), { patients: SAMPLE_PATIENTS.slice(1, 2), seriesPerStudy: 1, instancesPerSeries: 2, imageSize: 4096, seed: 'deflated-big' });
    const incoming = path.join(work, 'data', 'incoming');
    await run('mkdir', ['-p', incoming]);
    const [whole, cut] = big.map((b) => path.join(work, 'source', `${b.sopInstanceUID}.dcm`));
    await run('dcmconv', ['+td', whole as string, path.join(incoming, 'MR.whole')]);
    await run('dcmconv', ['+td', cut as string, path.join(work, 'cut.dcm')]);
    const bytes = await import('node:fs/promises').then((fs) => fs.readFile(path.join(work, 'cut.dcm')));
    await writeFile(path.join(incoming, 'MR.cut'), bytes.subarray(0, bytes.length - 200));
    const instances: InstancePayload[] = [];
    const errors: PacsError[] = [];
    listener = new Listener({ aet: 'NODERED', port: await freeTcpPort(), dataDir: path.join(work, 'data'), seriesTimeout: 1 });
    listener.on('instance', (p) => instances.push(p));
    listener.on('error', (e) => errors.push(e));
    const before = process.memoryUsage().arrayBuffers;
    await listener.start();
    await until('both files dealt with (filed or reported)', () => instances.length + errors.length >= 2, { timeoutMs: 10000, describe: () => ({ instances: instances.length, errors: errors.map((e) => e.message) }) });
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 2 ** 20, 'the 32 MB image was not inflated into memory');
    assert.deepEqual(instances.map((p) => p.SOPInstanceUID), [big[0]?.sopInstanceUID]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /truncated.*kept as .*quarantine\/MR\.cut/);
  });
});
