// The commands' command lines, flag by flag: pypx's spellings, the aliases, repeated flags, `--`, and the
// message and exit code for each kind of bad input. No PACS: the commands are parsed in-process, or run
// only with arguments they refuse before connecting to anything.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { type FlagSpec, parseCommandLine, UsageError } from '../bin/cli';
import { command as echo } from '../bin/px-echo';
import { command as find } from '../bin/px-find';
import { command as get } from '../bin/px-get';
import { FLAGS as LISTEN_FLAGS } from '../bin/px-listen';
import { command as move } from '../bin/px-move';
import { command as send } from '../bin/px-send';

interface Command {
  flags: FlagSpec[];
  acceptExtra?: boolean;
  acceptPositional?: boolean;
}
const COMMANDS: Record<string, Command> = {
  'px-echo': echo,
  'px-find': find,
  'px-move': move,
  'px-get': get,
  'px-send': send,
  'px-listen': { flags: LISTEN_FLAGS },
};

/** What a command line parses to: the flags named (others may be there, defaults), all query keys, all operands. */
interface Parsed {
  flags?: Record<string, string | true>;
  extra?: Record<string, string>;
  positional?: string[];
}
/** A command line and what it parses to, or the usage error it gets (the message exactly). */
type Row = [command: string, argv: string[], want: Parsed | { error: string }];

const C = ['--aec', 'ORTHANC', '--serverIP', '127.0.0.1'];
const UID = '1.3.12.2.1107.5.2.32.35235.2012041417312491079284166.0.0.0';
const CONNECTION_DEFAULTS = { aet: 'PYPX', serverPort: '4242', timeout: '30' };

const ROWS: Row[] = [
  // px-echo: pypx's connection flags, in every spelling the commands have taken
  ['px-echo', ['--aet', 'CHIPS', '--aec', 'ORTHANC', '--serverIP', '127.0.0.1', '--serverPort', '4242', '--executable', '/usr/local/bin/echoscu'], { flags: { aet: 'CHIPS', aec: 'ORTHANC', serverIP: '127.0.0.1', serverPort: '4242', timeout: '30', executable: '/usr/local/bin/echoscu' } }],
  ['px-echo', [], { flags: CONNECTION_DEFAULTS }],
  ['px-echo', ['--aet=CHIPS', '--aec=ORTHANC', '--serverIP=pacs', '--serverPort=104', '--timeout=5'], { flags: { aet: 'CHIPS', aec: 'ORTHANC', serverIP: 'pacs', serverPort: '104', timeout: '5' } }],
  ['px-echo', ['-aet', 'CHIPS', '-aec=ORTHANC', '-serverIP', 'pacs'], { flags: { aet: 'CHIPS', aec: 'ORTHANC', serverIP: 'pacs' } }],
  ['px-echo', ['--aet=', '--aec=A=B'], { flags: { aet: '', aec: 'A=B' } }],
  ['px-echo', ['--aet', 'A', '--aet=B', '-aet', 'C'], { flags: { aet: 'C' } }],
  ['px-echo', ['--serverPort', '-1', '--aet', '-'], { flags: { serverPort: '-1', aet: '-' } }],
  ['px-echo', ['--tls', '--tlsCa', 'ca.pem', '--tlsCert=me.pem', '--tlsKey', 'me.key'], { flags: { tls: true, tlsCa: 'ca.pem', tlsCert: 'me.pem', tlsKey: 'me.key' } }],
  ['px-echo', ['--url', 'https://pacs/dicom-web', '--user', 'me', '--password', 'pw', '--token', 't'], { flags: { url: 'https://pacs/dicom-web', user: 'me', password: 'pw', token: 't' } }],
  ['px-echo', ['--tls=false'], { error: '--tls takes no value: give it to switch it on, leave it out for off' }],
  ['px-echo', ['--bogus', 'x'], { error: 'unknown option --bogus' }],
  ['px-echo', ['--bogus=x'], { error: 'unknown option --bogus=x' }],
  ['px-echo', ['-bogus'], { error: 'unknown option -bogus' }],
  ['px-echo', ['--PatientID', '1'], { error: 'unknown option --PatientID' }],
  ['px-echo', ['--d', '/data'], { error: 'unknown option --d' }],
  ['px-echo', ['--aet'], { error: '--aet needs a value' }],
  ['px-echo', ['--aet', '--aec', 'ORTHANC'], { error: '--aet needs a value' }],
  ['px-echo', ['-aet', '-aec'], { error: '-aet needs a value' }],
  ['px-echo', ['127.0.0.1'], { error: 'unexpected argument "127.0.0.1"' }],
  ['px-echo', ['--', '--aet', 'CHIPS'], { error: 'unexpected argument "--"' }],
  ['px-echo', ['-5'], { error: 'unexpected argument "-5"' }],
  ['px-echo', ['--aet', 'CHIPS', 'ORTHANC', '--bogus'], { error: 'unexpected argument "ORTHANC"' }],

  // px-find: its own flags, and any other --Keyword is a query key (pypx's --patientID too)
  ['px-find', [...C, '--patientID', '32124'], { flags: { aec: 'ORTHANC', serverIP: '127.0.0.1' }, extra: { patientID: '32124' } }],
  ['px-find', [], { flags: { ...CONNECTION_DEFAULTS, level: 'SERIES', limit: '0' } }],
  ['px-find', ['--level', 'STUDY', '--returnTags', 'PatientID,StudyDate', '--limit=5', '--PatientName=SMITH*', '--StudyDate', '-20201231'], { flags: { level: 'STUDY', returnTags: 'PatientID,StudyDate', limit: '5' }, extra: { PatientName: 'SMITH*', StudyDate: '-20201231' } }],
  ['px-find', ['--PatientID', '1', '--PatientID=2'], { extra: { PatientID: '2' } }],
  ['px-find', ['--PatientName', '', '--seriesUID', UID], { extra: { PatientName: '', seriesUID: UID } }],
  ['px-find', ['-level', 'IMAGE'], { flags: { level: 'IMAGE' } }],
  ['px-find', ['-PatientID', '1'], { error: 'unknown option -PatientID' }],
  ['px-find', ['--PatientID'], { error: '--PatientID needs a value' }],
  ['px-find', ['--PatientName', '--StudyDate', '20200101'], { error: '--PatientName needs a value' }],
  ['px-find', ['--level'], { error: '--level needs a value' }],
  ['px-find', ['SMITH'], { error: 'unexpected argument "SMITH"' }],
  ['px-find', ['--', '--PatientID', '1'], { error: 'unexpected argument "--"' }],

  // px-move: --aetl and the UID flags, each also under its DICOM keyword
  ['px-move', ['--aet', 'CHIPS', '--aetl', 'CHIPS', ...C, '--serverPort', '4242', '--seriesUID', UID], { flags: { aet: 'CHIPS', aetl: 'CHIPS', serverPort: '4242', seriesUID: UID } }],
  ['px-move', [], { flags: CONNECTION_DEFAULTS }],
  ['px-move', ['--StudyInstanceUID', '1.2', '--SeriesInstanceUID=1.2.3', '--SOPInstanceUID', '1.2.3.4'], { flags: { studyUID: '1.2', seriesUID: '1.2.3', instanceUID: '1.2.3.4' } }],
  ['px-move', ['--studyUID', '1.1', '--StudyInstanceUID', '1.2'], { flags: { studyUID: '1.2' } }],
  ['px-move', ['--StudyInstanceUID', '1.2', '-studyUID', '1.1'], { flags: { studyUID: '1.1' } }],
  ['px-move', ['--PatientID', '1'], { error: 'unknown option --PatientID' }],
  ['px-move', ['--aetl'], { error: '--aetl needs a value' }],
  ['px-move', ['--seriesUID', '--aetl', 'X'], { error: '--seriesUID needs a value' }],

  // px-get: -d (pypx's one-letter spelling) or --dataDir, --seriesTimeout, the UID flags
  ['px-get', [...C, '-d', '/incoming/data', '--studyUID', '2.25.1'], { flags: { dataDir: '/incoming/data', studyUID: '2.25.1' } }],
  ['px-get', [], { flags: { ...CONNECTION_DEFAULTS, seriesTimeout: '10' } }],
  ['px-get', ['--dataDir', '/a'], { flags: { dataDir: '/a' } }],
  ['px-get', ['--d=/a'], { flags: { dataDir: '/a' } }],
  ['px-get', ['-d=/a'], { flags: { dataDir: '/a' } }],
  ['px-get', ['-dataDir', '/a', '-d', '/b'], { flags: { dataDir: '/b' } }],
  ['px-get', ['--seriesTimeout', '3', '--SOPInstanceUID', '1.2.3.4'], { flags: { seriesTimeout: '3', instanceUID: '1.2.3.4' } }],
  ['px-get', ['-d'], { error: '-d needs a value' }],
  ['px-get', ['--d'], { error: '--d needs a value' }],
  ['px-get', ['-d', '--studyUID', '1.2'], { error: '-d needs a value' }],
  ['px-get', ['-x'], { error: 'unknown option -x' }],
  ['px-get', ['/incoming/data'], { error: 'unexpected argument "/incoming/data"' }],

  // px-send: files and folders anywhere among the flags, and everything after `--`
  ['px-send', ['--aet', 'CHIPS', ...C, '--serverPort', '4242', '/incoming/data/PX0003', '/tmp/missing.dcm'], { flags: { aet: 'CHIPS' }, positional: ['/incoming/data/PX0003', '/tmp/missing.dcm'] }],
  ['px-send', [], { flags: { ...CONNECTION_DEFAULTS, retries: '0' } }],
  ['px-send', ['a.dcm', '--aet', 'X', 'b.dcm', '--retries=2'], { flags: { aet: 'X', retries: '2' }, positional: ['a.dcm', 'b.dcm'] }],
  ['px-send', ['--aet', 'X', '--', '--aec', '-y.dcm', '--'], { flags: { aet: 'X' }, positional: ['--aec', '-y.dcm', '--'] }],
  ['px-send', ['-', '-1', '--2', '-x.dcm', '='], { positional: ['-', '-1', '--2', '-x.dcm', '='] }],
  ['px-send', ['--executable', '/usr/bin/storescu'], { error: 'unknown option --executable' }],
  ['px-send', ['--PatientID', '1', 'a.dcm'], { error: 'unknown option --PatientID' }],
  ['px-send', ['-x', 'a.dcm'], { error: 'unknown option -x' }],
  ['px-send', ['a.dcm', '--aet'], { error: '--aet needs a value' }],

  // px-listen: pypx's -t, -l, -d with one dash, their long names, and the receiver's own flags
  ['px-listen', ['-t', '/tmp', '-l', '/incoming/log', '-d', '/incoming/data', '--executable', '/usr/local/bin/storescp'], { flags: { t: '/tmp', l: '/incoming/log', d: '/incoming/data', executable: '/usr/local/bin/storescp' } }],
  ['px-listen', [], { flags: { aet: 'PYPX', port: '11113', seriesTimeout: '10' } }],
  ['px-listen', ['--dataDir', '/d', '--tmpDir=/t', '--logDir', '/l'], { flags: { d: '/d', t: '/t', l: '/l' } }],
  ['px-listen', ['--d', '/d', '-dataDir=/e'], { flags: { d: '/e' } }],
  ['px-listen', ['--aet', 'CHIPS', '--port', '11112', '--seriesTimeout', '5'], { flags: { aet: 'CHIPS', port: '11112', seriesTimeout: '5' } }],
  ['px-listen', ['-d', '/d', '--tls', '--tlsCert', 'me.pem', '--tlsKey=me.key', '--tlsCa', 'ca.pem'], { flags: { d: '/d', tls: true, tlsCert: 'me.pem', tlsKey: 'me.key', tlsCa: 'ca.pem' } }],
  ['px-listen', ['-d'], { error: '-d needs a value' }],
  ['px-listen', ['-t', '-d', '/d'], { error: '-t needs a value' }],
  ['px-listen', ['--aec', 'ORTHANC'], { error: 'unknown option --aec' }],
  ['px-listen', ['-x'], { error: 'unknown option -x' }],
  ['px-listen', ['-d', '/d', '/incoming/data'], { error: 'unexpected argument "/incoming/data"' }],
  ['px-listen', ['--'], { error: 'unexpected argument "--"' }],
];

function parse(name: string, argv: string[]) {
  const command = COMMANDS[name] as Command;
  return parseCommandLine(argv, command.flags, command.acceptExtra, command.acceptPositional);
}

describe('the commands\' command lines, flag by flag (no PACS)', () => {
  for (const [name, argv, want] of ROWS) {
    const words = argv.map((word) => (/^[\w./=,:*-]+$/.test(word) ? word : JSON.stringify(word)));
    const line = `${name} ${argv.length ? words.join(' ') : '(nothing: the defaults)'}`;
    if ('error' in want) {
      it(`${line}: "${want.error}"`, () => {
        assert.throws(() => parse(name, argv), (err: unknown) => err instanceof UsageError && err.message === want.error);
      });
      continue;
    }
    it(line, () => {
      const parsed = parse(name, argv);
      // An empty line gives exactly the defaults; otherwise the flags named, whatever the others are.
      const flags = argv.length ? Object.fromEntries(Object.keys(want.flags ?? {}).map((key) => [key, parsed.flags[key]])) : parsed.flags;
      assert.deepEqual(flags, want.flags ?? {});
      assert.deepEqual(parsed.extra, want.extra ?? {});
      assert.deepEqual(parsed.positional, want.positional ?? []);
    });
  }

  it('a flag given twice under two names (px-move --studyUID, --StudyInstanceUID) is kept once, under its first name', () => {
    const parsed = parse('px-move', ['--StudyInstanceUID', '1.2', '--studyUID', '1.1']);
    assert.equal('StudyInstanceUID' in parsed.flags, false);
  });
});

describe('the commands on bad usage and --help: message, stdout, exit code (no PACS)', () => {
  const BIN = path.resolve(__dirname, '..', 'bin');
  const run = (name: string, argv: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(BIN, `${name}.js`), ...argv], (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
  const usage: Array<[string, string[], string]> = [
    ['px-echo', ['--bogus', 'x'], 'unknown option --bogus'],
    ['px-echo', ['--help=1'], 'unknown option --help=1'],
    ['px-echo', [...C, '--tlsCa', 'ca.pem'], '--tlsCa needs --tls'],
    ['px-find', [...C, '--PatientNam', 'x'], 'unknown option --PatientNam: not a flag of px-find, nor a DICOM keyword'],
    ['px-find', [...C, '--limit', '-1'], '--limit must be a whole number, 0 or more, not "-1"'],
    ['px-move', [...C, '--studyUID'], '--studyUID needs a value'],
    ['px-get', [...C, '--studyUID', '1.2', '-d'], '-d needs a value'],
    ['px-send', [...C, '--retries', '-1', 'a.dcm'], '--retries must be a whole number from 0, not "-1"'],
    ['px-send', [...C, '--'], 'give the files or folders to send'],
    ['px-listen', ['-d'], '-d needs a value'],
    ['px-listen', ['-d', '/d', 'stray'], 'unexpected argument "stray"'],
  ];
  for (const [name, argv, message] of usage) {
    it(`${name} ${argv.join(' ')}: exits 2, prints nothing on stdout and "${message}" on stderr`, async () => {
      const ran = await run(name, argv);
      assert.deepEqual(ran, { code: 2, stdout: '', stderr: `${name}: ${message} (see ${name} --help)\n` });
    });
  }
  it('every command runs as a program after a build, as npx and package.json\'s bin run it (its run bit set)', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const ran = await new Promise<{ code: number | string; stdout: string }>((resolve) => {
        execFile(path.join(BIN, `${name}.js`), ['--help'], (err, stdout) => resolve({ code: err ? (err.code ?? -1) : 0, stdout }));
      });
      assert.equal(ran.code, 0, `${name} run as a program`);
      assert.match(ran.stdout, new RegExp(`^usage: ${name} `));
    }
  });
  for (const name of Object.keys(COMMANDS)) {
    it(`${name} -h, and --help anywhere on the line: the help, exit 0`, async () => {
      for (const argv of [['-h'], ['--aet', 'CHIPS', '--help', '--bogus']]) {
        const ran = await run(name, argv);
        assert.equal(ran.code, 0, ran.stderr);
        assert.match(ran.stdout, new RegExp(`^usage: ${name} \\[options\\]`));
        assert.equal(ran.stderr, '');
      }
    });
  }
});
