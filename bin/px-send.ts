#!/usr/bin/env node
import { collectSendFiles, PacsError, runSend } from '../lib';
import { main, PACS_FLAGS, pacsSettingsFromFlags, UsageError } from './cli';

/** What the command takes and does; exported so that test/commands.args.test.ts can check its flags without running it. */
export const command = {
  name: 'px-send',
  operands: 'FILE|DIR...',
  summary: [
    'Sends DICOM files to a PACS with C-STORE (DCMTK storescu): each file in its own transfer syntax; dcmsend sends',
    'again, decompressed, what the PACS takes only uncompressed where the compression is lossless (not over TLS);',
    'folders are searched for DICOM files. A file that fails does not stop the others. Prints pypx\'s result as JSON',
    'with the counts sent, failed and warning, and the files that failed in "data"; exits 0 when every file was',
    'stored, 1 otherwise, 2 on bad usage.',
  ].join('\n'),
  flags: [
    ...PACS_FLAGS.filter((flag) => flag.name !== 'executable'),
    { name: 'retries', value: 'N', help: 'send again after a lost connection, N times, with backoff', default: '0' },
  ],
  acceptPositional: true,
  footer: 'example: px-send --aet CHIPS --aec ORTHANC --serverIP 127.0.0.1 --serverPort 4242 /data/pypx/PX0001-Smith.John',
  run: async ({ flags, positional }) => {
    const settings = pacsSettingsFromFlags(flags);
    if (!positional.length) throw new UsageError('give the files or folders to send');
    const retries = Number(flags.retries);
    if (!Number.isInteger(retries) || retries < 0) throw new UsageError(`--retries must be a whole number from 0, not "${String(flags.retries)}"`);
    let list;
    try {
      list = await collectSendFiles(positional, 'files');
    } catch (err) {
      if (err instanceof PacsError) throw new UsageError(err.message);
      throw err;
    }
    const outcome = await runSend(settings, list, { retries });
    return { result: outcome.payload, error: outcome.error };
  },
} satisfies Parameters<typeof main>[0];

if (require.main === module) void main(command);
