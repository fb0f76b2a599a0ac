#!/usr/bin/env node
import { getPayload, runGet } from '../lib/get';
import { parseMoveRequests } from '../lib/move';
import { PacsError } from '../lib/errors';
import { main, PACS_FLAGS, pacsSettingsFromFlags, UsageError } from './cli';

void main({
  name: 'px-get',
  summary: [
    'Retrieves a study, a series or one instance with a DICOM C-GET (DCMTK getscu): the PACS sends the images back',
    'on our own association, so it need not know our AE title, host or port. Files them under DATADIR as px-listen',
    'does (<patient>/<study>/<series>/, with .info files). Prints px-move\'s result as JSON with the counts completed,',
    'failed and warning; exits 0 on success, 1 on failure (any instance not retrieved), 2 on bad usage.',
  ].join('\n'),
  flags: [
    ...PACS_FLAGS,
    { name: 'dataDir', alias: 'd', value: 'DATADIR', help: 'where to file the instances (required)' },
    { name: 'studyUID', alias: 'StudyInstanceUID', value: 'UID', help: 'Study Instance UID' },
    { name: 'seriesUID', alias: 'SeriesInstanceUID', value: 'UID', help: 'Series Instance UID' },
    { name: 'instanceUID', alias: 'SOPInstanceUID', value: 'UID', help: 'SOP Instance UID: retrieve one instance' },
  ],
  footer: 'example: px-get --aet CHIPS --aec ORTHANC --serverIP 127.0.0.1 --serverPort 4242 -d /data/pypx --seriesUID 1.3.12.2.1107.5.2.32.35235.2012041417312491079284166.0.0.0',
  run: async ({ flags }) => {
    const settings = pacsSettingsFromFlags(flags);
    if (typeof flags.dataDir !== 'string' || !flags.dataDir.trim()) throw new UsageError('-d DATADIR is required');
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
    const outcome = await runGet(settings, request, { dataDir: flags.dataDir });
    return { result: getPayload(outcome), error: outcome.error };
  },
});
