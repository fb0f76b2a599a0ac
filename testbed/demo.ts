// npm run demo: a local Orthanc seeded with sample studies, and Node-RED with this package and
// its example flows on http://127.0.0.1:1880.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { isPortInUse } from '../lib/listener';
import { generateSampleInstances } from './generate';
import { exampleFlows, REPO_ROOT, startNodeRed } from './node-red';
import { startOrthanc } from './orthanc';

export const DEMO = {
  nodeRedPort: 1880,
  pacs: { aet: 'ORTHANC', host: '127.0.0.1', dicomPort: 4242, httpPort: 8042 },
  /** The example flows' px-listen nodes, known to the demo PACS as move destinations: AE title and port. */
  listeners: [
    { aet: 'NODERED', port: 11113 }, // 03 - Find then move
    { aet: 'LISTENER', port: 11114 }, // 04 - Listen and process series
    { aet: 'PIPELINE', port: 11115 }, // 05 - Retrieval pipeline
    { aet: 'ROUTER', port: 11116 }, // 06 - Route received series
  ],
  /** A second PACS, where example 06's px-send routes CT instances (over DIMSE) and example 08's sends series (over DICOMweb). */
  archive: { aet: 'ARCHIVE', dicomPort: 4243, httpPort: 8043 },
};

async function main(): Promise<void> {
  const busy: number[] = [];
  for (const port of [DEMO.nodeRedPort, DEMO.pacs.dicomPort, DEMO.pacs.httpPort, DEMO.archive.dicomPort, DEMO.archive.httpPort, ...DEMO.listeners.map((l) => l.port)]) {
    if (await isPortInUse(port)) busy.push(port);
  }
  if (busy.length) throw new Error(`port ${busy.join(', ')} already in use on 127.0.0.1: stop whatever uses it (another demo?) and run again`);

  const base = path.join(REPO_ROOT, '.demo');
  await rm(path.join(base, 'orthanc'), { recursive: true, force: true });
  console.log('Starting Orthanc (the demo PACS, and ARCHIVE, a second one)...');
  const orthanc = await startOrthanc({
    dir: path.join(base, 'orthanc'),
    aet: DEMO.pacs.aet,
    dicomPort: DEMO.pacs.dicomPort,
    httpPort: DEMO.pacs.httpPort,
    defaultEncoding: 'Utf8',
    modalities: Object.fromEntries(DEMO.listeners.map((l) => [l.aet.toLowerCase(), [l.aet, '127.0.0.1', l.port]])),
    // 07 - Retrieve with C-GET: C-GET needs no modality entry.
    extra: { DicomAlwaysAllowGet: true },
    // 08 - DICOMweb: its plugin at /dicom-web.
    dicomweb: true,
  });
  await rm(path.join(base, 'archive'), { recursive: true, force: true });
  const archive = await startOrthanc({ dir: path.join(base, 'archive'), aet: DEMO.archive.aet, dicomPort: DEMO.archive.dicomPort, httpPort: DEMO.archive.httpPort, dicomweb: true });
  const count = await orthanc.upload(
    (function* () {
      for (const instance of generateSampleInstances({ studiesPerPatient: 2, seriesPerStudy: 2, instancesPerSeries: 5 })) yield instance.bytes;
    })(),
  );
  console.log(`Orthanc holds ${count} sample instances (10 patients, 2 studies each); web UI on ${orthanc.url}`);

  console.log('Starting Node-RED with node-red-contrib-pypx and its example flows...');
  const nodeRed = await startNodeRed({
    userDir: path.join(base, 'node-red'),
    port: DEMO.nodeRedPort,
    flows: exampleFlows(),
    linkThisPackage: true,
    log: 'inherit',
  });
  console.log(`
Node-RED with node-red-contrib-pypx is running on ${nodeRed.url}
  PACS: Orthanc, AE title ${DEMO.pacs.aet}, DICOM on ${DEMO.pacs.host}:${DEMO.pacs.dicomPort}, DICOMweb ${orthanc.dicomwebUrl}, web UI ${orthanc.url}
  Second PACS (examples 06 and 08 send to it): AE title ${DEMO.archive.aet}, DICOM on 127.0.0.1:${DEMO.archive.dicomPort}, DICOMweb ${archive.dicomwebUrl}, web UI ${archive.url}
  Each example is on its own tab: click an inject node's button and watch the debug sidebar.
Press Ctrl-C to stop both.
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping Node-RED and Orthanc...');
    await nodeRed.stop();
    await Promise.all([orthanc.stop(), archive.stop()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  nodeRed.process.once('exit', (code) => {
    if (!stopping) {
      console.error(`Node-RED exited (code ${code}); stopping Orthanc.`);
      void Promise.all([orthanc.stop(), archive.stop()]).then(() => process.exit(1));
    }
  });
}

main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
