#!/usr/bin/env node
import { movePayload, parseMoveRequests, runMove } from '../lib/move';
import { PacsError } from '../lib/errors';
import { main, PACS_FLAGS, pacsSettingsFromFlags, UsageError } from './cli';

void main({
  name: 'px-move',
  summary: [
    'Asks the PACS to send a study, a series or one instance to an AE title, with a DICOM C-MOVE (DCMTK movescu).',
    'The level follows from the deepest UID given. The destination (--aetl, default the calling AE title) must be',
    'known to the PACS, with its host and port. Prints pypx\'s result as JSON with the sub-operation counts',
    '(completed, failed, warning); exits 0 on success, 1 on failure, 2 on bad usage.',
  ].join('\n'),
  flags: [
    ...PACS_FLAGS,
    { name: 'aetl', value: 'AE', help: 'AE title the PACS sends to (default: --aet)' },
    { name: 'studyUID', alias: 'StudyInstanceUID', value: 'UID', help: 'Study Instance UID' },
    { name: 'seriesUID', alias: 'SeriesInstanceUID', value: 'UID', help: 'Series Instance UID' },
    { name: 'instanceUID', alias: 'SOPInstanceUID', value: 'UID', help: 'SOP Instance UID: move one instance' },
  ],
  footer: 'example: px-move --aet CHIPS --aetl CHIPS --aec ORTHANC --serverIP 127.0.0.1 --serverPort 4242 --seriesUID 1.3.12.2.1107.5.2.32.35235.2012041417312491079284166.0.0.0',
  run: async ({ flags }) => {
    const settings = pacsSettingsFromFlags(flags, typeof flags.aetl === 'string' ? { aetl: flags.aetl } : {});
    const uids = { StudyInstanceUID: flags.studyUID, SeriesInstanceUID: flags.seriesUID, SOPInstanceUID: flags.instanceUID };
    if (!Object.values(uids).some(Boolean)) throw new UsageError('give --studyUID, --seriesUID or --instanceUID');
    let request;
    try {
      [request] = parseMoveRequests(uids, 'the UID flags');
    } catch (err) {
      if (err instanceof PacsError) throw new UsageError(err.message);
      throw err;
    }
    if (!request) throw new UsageError('give --studyUID, --seriesUID or --instanceUID');
    const outcome = await runMove(settings, request);
    return { result: movePayload(outcome), error: outcome.error };
  },
});
