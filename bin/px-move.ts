#!/usr/bin/env node
import { movePayload, runMove } from '../lib';
import { main, PACS_FLAGS, pacsSettingsFromFlags, requestFromUidFlags, UID_FLAGS } from './cli';

/** What the command takes and does; exported so that test/commands.args.test.ts can check its flags without running it. */
export const command = {
  name: 'px-move',
  summary: [
    'Asks the PACS to send a study, a series or one instance to an AE title, with a DICOM C-MOVE (DCMTK movescu).',
    'The level follows from the deepest UID given; a series or instance given alone has its study\'s (and series\')',
    'UIDs found first with a C-FIND, as a strictly hierarchical PACS needs them. The destination (--aetl, default',
    'the calling AE title) must be known to the PACS, with its host and port. Prints pypx\'s result as JSON with the',
    'sub-operation counts (completed, failed, warning); exits 0 on success, 1 on failure (the PACS finding nothing',
    'to send among them), 2 on bad usage.',
  ].join('\n'),
  flags: [
    ...PACS_FLAGS,
    { name: 'aetl', value: 'AE', help: 'AE title the PACS sends to (default: --aet)' },
    ...UID_FLAGS,
  ],
  footer: 'example: px-move --aet CHIPS --aetl CHIPS --aec ORTHANC --serverIP 127.0.0.1 --serverPort 4242 --seriesUID 1.3.12.2.1107.5.2.32.35235.2012041417312491079284166.0.0.0',
  run: async ({ flags }) => {
    const settings = pacsSettingsFromFlags(flags, typeof flags.aetl === 'string' ? { aetl: flags.aetl } : {});
    const outcome = await runMove(settings, requestFromUidFlags(flags));
    return { result: movePayload(outcome), error: outcome.error };
  },
} satisfies Parameters<typeof main>[0];

if (require.main === module) void main(command);
