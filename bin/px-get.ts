#!/usr/bin/env node
import { getPayload, runGet, seriesTimeoutSeconds } from '../lib';
import { main, PACS_FLAGS, pacsSettingsFromFlags, requestFromUidFlags, UID_FLAGS, UsageError } from './cli';

/** What the command takes and does; exported so that test/commands.args.test.ts can check its flags without running it. */
export const command = {
  name: 'px-get',
  summary: [
    'Retrieves a study, a series or one instance with a DICOM C-GET (DCMTK getscu): the PACS sends the images back',
    'on our own association, so it need not know our AE title, host or port. Files them under DATADIR as px-listen',
    'does (<patient>/<study>/<series>/, with .info files). A series or instance given alone has its study\'s (and',
    'series\') UIDs found first with a C-FIND. Prints px-move\'s result as JSON with the counts completed,',
    'failed and warning; exits 0 on success, 1 on failure (any instance not retrieved, or nothing to send), 2 on bad usage.',
  ].join('\n'),
  flags: [
    ...PACS_FLAGS,
    { name: 'dataDir', alias: 'd', value: 'DATADIR', help: 'where to file the instances (required)' },
    { name: 'seriesTimeout', value: 'SECONDS', help: 'seconds without a new instance, once they have begun to come, before the retrieve is stopped as stalled', default: '10' },
    ...UID_FLAGS,
  ],
  footer: 'example: px-get --aet CHIPS --aec ORTHANC --serverIP 127.0.0.1 --serverPort 4242 -d /data/pypx --seriesUID 1.3.12.2.1107.5.2.32.35235.2012041417312491079284166.0.0.0',
  run: async ({ flags }) => {
    const settings = pacsSettingsFromFlags(flags);
    if (typeof flags.dataDir !== 'string' || !flags.dataDir.trim()) throw new UsageError('-d DATADIR is required');
    let seriesTimeout: number;
    try {
      seriesTimeout = seriesTimeoutSeconds(flags.seriesTimeout);
    } catch (err) {
      throw new UsageError(`--seriesTimeout: ${(err as Error).message}`);
    }
    const outcome = await runGet(settings, requestFromUidFlags(flags), { dataDir: flags.dataDir, seriesTimeout });
    return { result: getPayload(outcome), error: outcome.error };
  },
} satisfies Parameters<typeof main>[0];

if (require.main === module) void main(command);
