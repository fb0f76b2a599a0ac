// px-deidentify in Node-RED over a folder of 1,000 small CT instances (each written, one msg per instance),
// against `gdcmanon -e` (Debian libgdcm-tools) over the same folder, in its fastest -e configuration: the
// original attributes encrypted for a certificate (-c; with a password, -p, it derives a key per file and
// takes several times longer). Both read and write in memory (/dev/shm) where there is one: on this
// machine's shared disk, creating the 1,000 files took most of either side's time and varied several-fold
// from run to run, which measured the disk more than either tool. Then one 500 MB multi-frame instance, on
// disk: the growth of Node-RED's resident memory while it is de-identified. The Node-RED is the test
// helper's runtime without its test spies (bench/runtime.ts); the two alternate, median of 5.
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeMessage } from 'node-red';
import { writeSampleInstances } from '../testbed/generate';
import { writeDicomFile } from '../testbed/dicom-writer';
import { helper, nextMessage, nodeModules, onTab } from '../test/support/flow';
import { alternatingPairs, type Figure, measureProcess, median, SetAside, settleDisk, timedWithCpu } from './figures';
import { withoutTestSpies } from './runtime';

const INSTANCES = 1000;
const RUNS = 5;
const KEY = 'bench-deidentify-key';
/** 954 frames of 512 x 512 16-bit pixels: 500 MB of pixel data. */
const FRAMES = 954;
const FRAME_BYTES = 512 * 512 * 2;
const RSS_EVERY_MS = 20;

type DeidPayload = { status: string; deidentified: number; failed: number; refused: number };
const finished = (root: string) => new SetAside(path.join(root, 'finished'));

/** A throwaway certificate for gdcmanon -e to encrypt the original attributes for. */
function certificate(root: string): string {
  const cert = path.join(root, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(root, 'key.pem'), '-out', cert, '-days', '2', '-subj', '/CN=bench'], { stdio: 'ignore' });
  return cert;
}

async function gdcmanonAlone(root: string, folder: string, cert: string, cpuMs: number[]): Promise<number> {
  const out = await mkdtemp(path.join(root, 'gdcmanon-'));
  try {
    await settleDisk();
    const time = await measureProcess('gdcmanon', ['-e', '--continue', '-c', cert, '-i', folder, '-o', out]);
    const written = (await readdir(out)).length;
    if (written !== INSTANCES) throw new Error(`gdcmanon wrote ${written} of ${INSTANCES} instances`);
    cpuMs.push(time.cpuMs);
    return time.wallMs;
  } finally {
    await finished(root).put(out);
  }
}

/** One input to a fresh px-deidentify; resolves with its answer, the wall and CPU time, and the peak growth of resident memory. */
async function pxDeidentify(root: string, input: string): Promise<{ payload: DeidPayload; ms: number; cpuMs: number; rssGrowth: number; emitted: number }> {
  const outDir = await mkdtemp(path.join(root, 'deidentified-'));
  await helper.load(nodeModules('px-deidentify'), onTab([
    { id: 'deid', type: 'px-deidentify', outDir, wires: [['instances'], ['done']] },
    { id: 'instances', type: 'helper' },
    { id: 'done', type: 'helper' },
  ]), { deid: { key: KEY } });
  try {
    let emitted = 0;
    (helper.getNode('instances') as unknown as { on(e: 'input', f: () => void): void }).on('input', () => emitted++);
    withoutTestSpies();
    await settleDisk();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), RSS_EVERY_MS);
    let payload: DeidPayload | undefined;
    const { ms, cpuMs } = await timedWithCpu(async () => {
      const done = nextMessage<NodeMessage & { payload: DeidPayload }>('done', 600000);
      helper.getNode('deid')?.receive({ payload: input } as NodeMessage);
      payload = (await done).payload;
    }).finally(() => clearInterval(sampler));
    peak = Math.max(peak, process.memoryUsage().rss);
    return { payload: payload as DeidPayload, ms, cpuMs, rssGrowth: (peak - before) / 2 ** 20, emitted };
  } finally {
    await helper.unload();
    await finished(root).put(outDir);
  }
}

/** The 500 MB multi-frame instance, written as it goes: its header, then the pixel data frame by frame. */
async function writeLargeInstance(file: string): Promise<void> {
  const header = writeDicomFile([
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: 0x00080018, vr: 'UI', value: '2.25.500000000000000000000000000001' },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x00100010, vr: 'PN', value: 'Large^Instance' },
    { tag: 0x00100020, vr: 'LO', value: 'BIG0001' },
    { tag: 0x0020000d, vr: 'UI', value: '2.25.500000000000000000000000000002' },
    { tag: 0x0020000e, vr: 'UI', value: '2.25.500000000000000000000000000003' },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280008, vr: 'IS', value: String(FRAMES) },
    { tag: 0x00280010, vr: 'US', value: 512 },
    { tag: 0x00280011, vr: 'US', value: 512 },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 12 },
    { tag: 0x00280102, vr: 'US', value: 11 },
    { tag: 0x00280103, vr: 'US', value: 0 },
  ], '1.2.840.10008.5.1.4.1.1.2', '2.25.500000000000000000000000000001');
  // Pixel Data (7FE0,0010), OW, explicit VR little endian: the last element, so it can follow the header.
  const pixelHeader = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0, 0, 0, 0, 0, 0]);
  pixelHeader.writeUInt32LE(FRAMES * FRAME_BYTES, 8);
  const out = createWriteStream(file);
  const write = (chunk: Buffer) => new Promise<void>((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));
  await write(header);
  await write(pixelHeader);
  const frame = Buffer.alloc(FRAME_BYTES, 0x11);
  for (let i = 0; i < FRAMES; i++) await write(frame);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

export default async function benchDeidentify(): Promise<Figure[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-deidentify-'));
  const memory = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'bench-deidentify-'));
  try {
    const folder = path.join(memory, 'originals');
    await writeSampleInstances(folder, { patients: [{ id: 'BD1', name: 'Bench^Deidentify', charset: '' }], seriesPerStudy: 10, instancesPerSeries: INSTANCES / 10, seed: 'bench-deidentify' });
    const cert = certificate(root);
    const cpuMs: number[] = [];
    const gdcmanonCpuMs: number[] = [];
    const alone = () => gdcmanonAlone(memory, folder, cert, gdcmanonCpuMs);
    const ours = async () => {
      const run = await pxDeidentify(memory, folder);
      if (run.payload.status !== 'success' || run.payload.deidentified !== INSTANCES || run.emitted !== INSTANCES) throw new Error(`px-deidentify: ${JSON.stringify(run.payload)}, ${run.emitted} emitted`);
      cpuMs.push(run.cpuMs);
      return run.ms;
    };
    await alone();
    await ours();
    cpuMs.length = 0;
    gdcmanonCpuMs.length = 0;
    const { alone: aloneMs, ours: nodeRedMs } = await alternatingPairs(RUNS, alone, ours, (i, theirs, mine) => {
      process.stderr.write(`  deidentify run ${i + 1}: gdcmanon -e ${theirs.toFixed(0)} ms (CPU ${gdcmanonCpuMs[i]?.toFixed(0)} ms), px-deidentify ${mine.toFixed(0)} ms (CPU ${cpuMs[i]?.toFixed(0)} ms)\n`);
    });

    const large = path.join(root, 'large', 'multiframe.dcm');
    execFileSync('mkdir', ['-p', path.dirname(large)]);
    await writeLargeInstance(large);
    const big = await pxDeidentify(root, large);
    if (big.payload.status !== 'success' || big.payload.deidentified !== 1) throw new Error(`px-deidentify, 500 MB instance: ${JSON.stringify(big.payload)}`);
    process.stderr.write(`  deidentify 500 MB instance: ${big.ms.toFixed(0)} ms, resident memory grew ${big.rssGrowth.toFixed(1)} MB\n`);

    const rate = (ms: number) => INSTANCES / (ms / 1000);
    return [
      { name: `deidentify: gdcmanon -e alone, ${INSTANCES} small CT instances`, value: rate(median(aloneMs)), unit: 'instances/s' },
      { name: `deidentify: px-deidentify in Node-RED (written, one msg per instance), ${INSTANCES} small CT instances`, value: rate(median(nodeRedMs)), unit: 'instances/s' },
      { name: 'deidentify: px-deidentify time / gdcmanon -e alone', value: median(nodeRedMs.map((ms, i) => ms / (aloneMs[i] as number))), unit: 'ratio', target: 1.2, better: 'lower' },
      { name: 'deidentify: CPU time of gdcmanon -e per instance', value: (median(gdcmanonCpuMs) * 1000) / INSTANCES, unit: 'µs' },
      { name: 'deidentify: CPU time of Node-RED\'s process per instance', value: (median(cpuMs) * 1000) / INSTANCES, unit: 'µs' },
      { name: 'deidentify: growth of Node-RED\'s resident memory over a 500 MB multi-frame instance', value: big.rssGrowth, unit: 'MB', target: 64, better: 'lower' },
    ];
  } finally {
    await rm(memory, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  }
}
