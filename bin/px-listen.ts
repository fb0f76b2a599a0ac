#!/usr/bin/env node
// Unlike the other commands, this one runs until stopped: one JSON line per received instance and
// per completed series on stdout, problems on stderr, storescp stopped on SIGINT or SIGTERM.
import { listen, PacsError } from '../lib';
import { exitQuietlyWhenStdoutCloses, helpText, parseCommandLine, TLS_FLAGS, tlsSettingsFromFlags, UsageError } from './cli';

/** Exported so that test/commands.args.test.ts can check the flags without running the command. */
export const FLAGS = [
  { name: 'aet', value: 'AET', help: 'AE title this receiver answers as', default: 'PYPX' },
  { name: 'port', value: 'PORT', help: 'TCP port to listen on', default: '11113' },
  { name: 'd', alias: 'dataDir', value: 'DIR', help: 'data folder: where received instances are filed (required)' },
  { name: 't', alias: 'tmpDir', value: 'DIR', help: 'where storescp writes first (default: <data>/incoming)' },
  { name: 'l', alias: 'logDir', value: 'DIR', help: 'where px-listen.log goes (default: none)' },
  { name: 'seriesTimeout', value: 'SECONDS', help: 'seconds without a new instance before a series counts as complete', default: '10' },
  { name: 'executable', value: 'PATH', help: 'the storescp binary to run (default: found on PATH)' },
  ...TLS_FLAGS,
];
const SUMMARY = [
  'Receives DICOM instances (C-STORE, DCMTK storescp) and files each one the way pypx did:',
  '<data>/<PatientID>-<PatientName>/<StudyDescription>-<StudyDate>-<StudyInstanceUID>/<SeriesDescription>-<SeriesDate>-<SeriesInstanceUID>/',
  'with patient.info, study.info and series.info beside them. Prints one JSON line per instance',
  '({"status", "data": {path, PatientID, ..., SOPInstanceUID}}) and per completed series ({"status", "data":',
  '{..., path, files, count}}). Runs until Ctrl-C; exits 1 if it cannot start, 2 on bad usage.',
].join('\n');

async function run(argv: string[]): Promise<void> {
  let closeListener: () => Promise<unknown> | void = () => undefined;
  exitQuietlyWhenStdoutCloses(() => closeListener());
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText('px-listen', SUMMARY, FLAGS, 'example: px-listen -t /tmp -l /incoming/log -d /incoming/data --executable /usr/bin/storescp'));
    return;
  }
  let listener;
  try {
    const { flags } = parseCommandLine(argv, FLAGS);
    if (typeof flags.d !== 'string') throw new UsageError('-d (the data folder) is required');
    listener = await listen({
      aet: String(flags.aet),
      port: Number(flags.port),
      dataDir: flags.d,
      tmpDir: typeof flags.t === 'string' ? flags.t : undefined,
      logDir: typeof flags.l === 'string' ? flags.l : undefined,
      seriesTimeout: Number(flags.seriesTimeout),
      executable: typeof flags.executable === 'string' ? flags.executable : undefined,
      ...tlsSettingsFromFlags(flags),
    });
  } catch (err) {
    const usage = err instanceof UsageError || (err instanceof PacsError && err.kind === 'bad-input');
    process.stderr.write(`px-listen: ${err instanceof Error ? err.message : String(err)}${usage ? ' (see px-listen --help)' : ''}\n`);
    process.exitCode = usage ? 2 : 1;
    return;
  }
  const started = listener;
  closeListener = () => started.close();
  started.on('error', (error) => process.stderr.write(`px-listen: ${error.message}\n`));
  started.on('storage-recovered', ({ folder, words, lastedMs }) =>
    process.stderr.write(`px-listen: can write into ${folder} again (${words} for ${Math.round(lastedMs / 1000)} s); receiving and filing again\n`));
  const stop = () => {
    void started.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const { aet, port, dataDir } = started.options;
  process.stderr.write(`px-listen: receiving as ${aet} on port ${port}, filing under ${dataDir}\n`);
  for await (const { payload } of started) process.stdout.write(`${JSON.stringify(payload)}\n`);
}

if (require.main === module) void run(process.argv.slice(2));
