#!/usr/bin/env node
import { lookupKeyword, runFind } from '../lib';
import { main, PACS_FLAGS, pacsSettingsFromFlags, UsageError } from './cli';

// pypx's own spellings for the keys it knew by another name.
const PYPX_SPELLINGS: Record<string, string> = {
  studyUID: 'StudyInstanceUID',
  seriesUID: 'SeriesInstanceUID',
  instanceUID: 'SOPInstanceUID',
};

/** `--PatientID 32124` or pypx's `--patientID 32124`: the DICOM keyword a flag names. */
function keywordOf(flag: string): string | undefined {
  const named = PYPX_SPELLINGS[flag] ?? flag;
  if (lookupKeyword(named)) return named;
  const capitalised = named.charAt(0).toUpperCase() + named.slice(1);
  return lookupKeyword(capitalised) ? capitalised : undefined;
}

/** What the command takes and does; exported so that test/commands.args.test.ts can check its flags without running it. */
export const command = {
  name: 'px-find',
  summary: [
    'Asks a PACS what it holds, with a DICOM C-FIND (DCMTK findscu). Any DICOM keyword is a query key:',
    '--PatientID 32124 --StudyDate 20200101-20201231 --PatientName \'SMITH*\' (pypx\'s --patientID, --seriesUID, ... too).',
    'Prints pypx\'s result as JSON: {"status", "command", "data": [records]}, each record mapping a keyword to',
    '{"tag", "value", "label"}; exits 0 on success (also with no match), 1 on failure, 2 on bad usage.',
  ].join('\n'),
  flags: [
    ...PACS_FLAGS,
    { name: 'level', value: 'LEVEL', help: 'PATIENT, STUDY, SERIES or IMAGE', default: 'SERIES' },
    { name: 'returnTags', value: 'KEYWORDS', help: "keywords to return, comma-separated (default: pypx's set for the level)" },
    { name: 'limit', value: 'N', help: 'stop after N matches (0: no limit)', default: '0' },
  ],
  acceptExtra: true,
  footer: 'examples: px-find --aet CHIPS --aec ORTHANC --serverIP 127.0.0.1 --serverPort 4242 --patientID 32124\n          px-find --url https://pacs.example.org/dicom-web --user me --level STUDY --PatientName \'SMITH*\' (password in $PYPX_PASSWORD)',
  run: async ({ flags, extra }) => {
    const settings = pacsSettingsFromFlags(flags);
    const query: Record<string, string> = {};
    for (const [flag, value] of Object.entries(extra)) {
      const keyword = keywordOf(flag);
      if (!keyword) throw new UsageError(`unknown option --${flag}: not a flag of px-find, nor a DICOM keyword`);
      query[keyword] = value;
    }
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`--limit must be a whole number, 0 or more, not "${flags.limit}"`);
    const returnTags = typeof flags.returnTags === 'string' ? flags.returnTags.split(/[\s,]+/).filter(Boolean) : undefined;
    // Each record is turned into its line of output as it arrives, while findscu still answers.
    const dataLines: string[] = [];
    const onRecord = (record: object) => dataLines.push(JSON.stringify(record));
    const outcome = await runFind(settings, query, { level: String(flags.level), returnTags, limit, onRecord });
    if (outcome.error?.kind === 'bad-input') throw new UsageError(outcome.error.message);
    return { ...outcome, dataLines };
  },
} satisfies Parameters<typeof main>[0];

if (require.main === module) void main(command);
