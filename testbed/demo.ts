// npm run demo: a local Orthanc seeded with sample studies, and Node-RED with this package and
// its example flows on http://127.0.0.1:1880. However the demo ends (Ctrl-C, SIGTERM, SIGKILL to it
// or to npm), nothing it started keeps running; what a killed demo left is stopped at the next start.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isPortInUse } from '../lib/ops/listen/port';
import { processAlive } from '../lib/dcmtk/processes';
import { generateSampleInstances } from './generate';
import { exampleFlows, REPO_ROOT, startNodeRed } from './node-red';
import { startOrthanc } from './orthanc';
import { commandLine, onParentDeath, parentOf, portHolder, processesIn } from './processes';

// For the demo's own test: every port moved by this offset, and another folder.
const OFFSET = Number(process.env.PYPX_DEMO_PORT_OFFSET ?? 0) || 0;
const BASE = process.env.PYPX_DEMO_DIR ? path.resolve(process.env.PYPX_DEMO_DIR) : path.join(REPO_ROOT, '.demo');

export const DEMO = {
  nodeRedPort: 1880,
  pacs: { aet: 'ORTHANC', host: '127.0.0.1', dicomPort: 4242, httpPort: 8042 },
  /** The AE titles the demo PACS knows, each with the port it sends to: the examples' px-listen nodes and README's. */
  listeners: [
    { aet: 'NODERED', port: 11113 }, // 03 - Find then move
    { aet: 'LISTENER', port: 11114 }, // 04 - Listen and process series
    { aet: 'PIPELINE', port: 11115 }, // 05 - Retrieval pipeline
    { aet: 'CHIPS', port: 11112 }, // README: the commands and the module
    { aet: 'ROUTER', port: 11116 }, // 06 - Route received series
    { aet: 'DEIDENTIFY', port: 11117 }, // 09 - De-identify and forward
  ],
  /** A second PACS, where example 06's px-send routes CT instances (over DIMSE), example 08's sends series (over DICOMweb) and example 09's de-identified ones. */
  archive: { aet: 'ARCHIVE', dicomPort: 4243, httpPort: 8043 },
};

const moved = (port: number) => port + OFFSET;
const DEMO_PORTS: Record<number, number> = Object.fromEntries(
  [DEMO.pacs.dicomPort, DEMO.archive.dicomPort, ...DEMO.listeners.map((l) => l.port)].map((port) => [port, moved(port)]),
);

/** The example flows with the demo's ports moved by the offset (none unless testing). */
function demoFlows(): Array<Record<string, unknown>> {
  const httpPorts = [DEMO.pacs.httpPort, DEMO.archive.httpPort];
  return exampleFlows().map((node) => {
    if (node.type !== 'px-pacs' && node.type !== 'px-listen') return node;
    const port = DEMO_PORTS[Number(node.port)];
    const url = typeof node.url === 'string' ? node.url.replace(/:(\d+)\//, (all, p: string) => (httpPorts.includes(Number(p)) ? `:${moved(Number(p))}/` : all)) : node.url;
    return { ...node, ...(port ? { port } : {}), ...(url !== undefined ? { url } : {}) };
  });
}

/**
 * Example 09's px-deidentify needs a secret key, a credential that no example file may hold: every
 * px-deidentify of the examples gets `${PX_DEID_KEY}`, which Node-RED fills in from its environment.
 */
function deidentifyKeys(): Record<string, Record<string, string>> {
  return Object.fromEntries(exampleFlows().filter((node) => node.type === 'px-deidentify').map((node) => [String(node.id), { key: '${PX_DEID_KEY}' }]));
}

/** PX_DEID_KEY as set where the demo runs, else one made for this demo folder at its first start and kept, so that pseudonyms stay the same. */
async function demoDeidentifyKey(): Promise<string> {
  if (process.env.PX_DEID_KEY) return process.env.PX_DEID_KEY;
  const file = path.join(BASE, 'deidentify.key');
  const kept = await readFile(file, 'utf8').catch(() => '');
  if (kept.trim()) return kept.trim();
  const key = randomBytes(32).toString('hex');
  await mkdir(BASE, { recursive: true });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/**
 * Stops what a demo of this checkout that was killed left running (its folder is in their command or
 * working folder). A demo still running is not a leftover: it is named, and nothing is stopped.
 * Resolves with how many it stopped, once they have ended.
 */
async function stopLeftovers(): Promise<number> {
  const left = processesIn(BASE);
  const live = left.map(({ pid }) => parentOf(pid)).find((parent) => parent !== undefined && commandLine(parent).includes('testbed/demo.js'));
  if (live) throw new Error(`a demo of this checkout is running (pid ${live}): stop it (Ctrl-C in its terminal, or kill ${live}) before starting another`);
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* ended meanwhile */
    }
  }
  if (!left.length) return 0;
  console.log(`Stopped what an earlier demo left running: ${left.map((p) => `${p.pid} (${p.command.slice(0, 80)})`).join(', ')}`);
  // Until each has ended (a zombie has closed its files): an exiting process drops its command line from
  // /proc before it closes its sockets, so it leaves processesIn() while it still holds its ports.
  for (let i = 0; i < 40 && left.some(({ pid }) => processAlive(pid)); i++) await new Promise((r) => setTimeout(r, 50));
  return left.length;
}

async function main(): Promise<void> {
  const stopped = await stopLeftovers();
  const ports = [DEMO.nodeRedPort, DEMO.pacs.dicomPort, DEMO.pacs.httpPort, DEMO.archive.dicomPort, DEMO.archive.httpPort, ...DEMO.listeners.map((l) => l.port)].map(moved);
  // The ports of what was just stopped may take the kernel a moment to free.
  for (let i = 0; stopped && i < 40; i++) {
    const taken = await Promise.all(ports.map((port) => isPortInUse(port)));
    if (!taken.some(Boolean)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const busy: string[] = [];
  for (const port of ports) {
    if (!(await isPortInUse(port))) continue;
    const holder = portHolder(port);
    busy.push(holder ? `${port} (pid ${holder.pid}: ${holder.command.slice(0, 100)})` : `${port}`);
  }
  if (busy.length) throw new Error(`port ${busy.join(', ')} already in use on 127.0.0.1: stop it and run the demo again`);

  await rm(path.join(BASE, 'orthanc'), { recursive: true, force: true });
  console.log('Starting Orthanc (the demo PACS, and ARCHIVE, a second one)...');
  const orthanc = await startOrthanc({
    dir: path.join(BASE, 'orthanc'),
    aet: DEMO.pacs.aet,
    dicomPort: moved(DEMO.pacs.dicomPort),
    httpPort: moved(DEMO.pacs.httpPort),
    defaultEncoding: 'Utf8',
    modalities: Object.fromEntries(DEMO.listeners.map((l) => [l.aet.toLowerCase(), [l.aet, '127.0.0.1', moved(l.port)]])),
    // 07 - Retrieve with C-GET: C-GET needs no modality entry.
    extra: { DicomAlwaysAllowGet: true },
    // 08 - DICOMweb: its plugin at /dicom-web.
    dicomweb: true,
  });
  let stopping = false;
  process.once('exit', () => orthanc.process.kill('SIGKILL'));
  await rm(path.join(BASE, 'archive'), { recursive: true, force: true });
  const archive = await startOrthanc({ dir: path.join(BASE, 'archive'), aet: DEMO.archive.aet, dicomPort: moved(DEMO.archive.dicomPort), httpPort: moved(DEMO.archive.httpPort), dicomweb: true });
  process.once('exit', () => archive.process.kill('SIGKILL'));
  const stopOrthanc = () => Promise.all([orthanc.stop(), archive.stop()]);
  const count = await orthanc.upload(
    (function* () {
      for (const instance of generateSampleInstances({ studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 5 })) yield instance.bytes;
    })(),
  );
  console.log(`Orthanc holds ${count} sample instances (10 patients, 2 studies each); web UI on ${orthanc.url}`);

  console.log('Starting Node-RED with node-red-contrib-pypx and its example flows...');
  const nodeRed = await startNodeRed({
    userDir: path.join(BASE, 'node-red'),
    port: moved(DEMO.nodeRedPort),
    flows: demoFlows(),
    credentials: deidentifyKeys(),
    env: { PX_DEID_KEY: await demoDeidentifyKey() },
    linkThisPackage: true,
    log: 'inherit',
  });
  const known = DEMO.listeners.map((l) => `${l.aet} (127.0.0.1:${moved(l.port)})`).join(', ');
  console.log(`
Node-RED with node-red-contrib-pypx is running on ${nodeRed.url}
  PACS: Orthanc, AE title ${DEMO.pacs.aet}, DICOM on ${DEMO.pacs.host}:${moved(DEMO.pacs.dicomPort)}, DICOMweb ${orthanc.dicomwebUrl}, web UI ${orthanc.url}
  It lets these AE titles query and retrieve, and sends to them: ${known}
  Second PACS (examples 06, 08 and 09 send to it): AE title ${DEMO.archive.aet}, DICOM on 127.0.0.1:${moved(DEMO.archive.dicomPort)}, DICOMweb ${archive.dicomwebUrl}, web UI ${archive.url}
  Each example is on its own tab: click an inject node's button and watch the debug sidebar.
Press Ctrl-C to stop both.
`);

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping Node-RED and Orthanc...');
    await nodeRed.stop();
    await stopOrthanc();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGHUP', () => void stop(0));
  // npm killed with SIGKILL leaves this process running under `sh -c`: stop as if told to.
  onParentDeath(() => void stop(1));
  nodeRed.process.once('exit', (code) => {
    if (!stopping) {
      console.error(`Node-RED exited (code ${code}); stopping Orthanc.`);
      stopping = true;
      void stopOrthanc().then(() => process.exit(1));
    }
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
