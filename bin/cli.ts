import { PacsError, parseMoveRequests, SettingsError, validatePacsSettings, type MoveRequest, type PacsSettings, type PypxResult } from '../lib';
// What every px-* command shares: pypx 0.8's flags, --help, JSON on stdout, and exit codes
// 0 (success), 1 (an error result), 2 (bad usage).

import { parseArgs } from 'node:util';

export interface FlagSpec {
  /** Without the leading dashes, as pypx spells it: "serverIP". */
  name: string;
  alias?: string;
  value?: string; // placeholder shown in --help; absent for on/off flags
  help: string;
  default?: string;
}

export class UsageError extends Error {}

export type Flags = Record<string, string | true>;

/** DICOM over TLS, for every command that connects or listens. */
export const TLS_FLAGS: FlagSpec[] = [
  { name: 'tls', help: 'DICOM over TLS (DCMTK +tls)' },
  { name: 'tlsCa', value: 'PEM', help: 'with --tls: CA certificate(s) to trust; a receiver then accepts only senders with a certificate from it (with --url: a private CA for https)' },
  { name: 'tlsCert', value: 'PEM', help: 'with --tls: our own certificate' },
  { name: 'tlsKey', value: 'PEM', help: "with --tls: our certificate's private key (px-echo, px-find: a password, if any, from the environment variable PYPX_TLS_KEY_PASSWORD)" },
];

/** The TLS flags as settings keys; a key password only from the environment, never from the command line (visible in ps). */
export function tlsSettingsFromFlags(flags: Flags): Record<string, unknown> {
  if (flags.tls !== true) {
    for (const name of ['tlsCa', 'tlsCert', 'tlsKey']) if (typeof flags[name] === 'string') throw new UsageError(`--${name} needs --tls`);
    return {};
  }
  return { tls: true, tlsCa: flags.tlsCa, tlsCert: flags.tlsCert, tlsKey: flags.tlsKey, tlsKeyPassword: process.env.PYPX_TLS_KEY_PASSWORD };
}

/** pypx 0.8's connection flags, shared by px-echo, px-find and px-move, and the TLS flags. */
export const PACS_FLAGS: FlagSpec[] = [
  { name: 'aet', value: 'AET', help: 'calling AE title: who we are', default: 'PYPX' },
  { name: 'aec', value: 'AEC', help: "called AE title: the PACS's AE title (required unless --url)" },
  { name: 'serverIP', value: 'HOST', help: 'PACS host name or IP address (required unless --url)' },
  { name: 'serverPort', value: 'PORT', help: 'PACS DICOM port', default: '4242' },
  { name: 'timeout', value: 'SECONDS', help: 'seconds to wait for the PACS at each step', default: '30' },
  { name: 'executable', value: 'PATH', help: 'the DCMTK binary to run (default: found on PATH)' },
  { name: 'url', value: 'URL', help: 'a DICOMweb service root (https://host/dicom-web): talk DICOMweb instead of DIMSE' },
  { name: 'user', value: 'USER', help: 'DICOMweb: HTTP basic authentication user' },
  { name: 'password', value: 'PASSWORD', help: 'DICOMweb: its password (default: $PYPX_PASSWORD, which ps does not show)' },
  { name: 'token', value: 'TOKEN', help: 'DICOMweb: bearer token instead of user and password (default: $PYPX_TOKEN)' },
  ...TLS_FLAGS,
];

export interface ParsedCommandLine {
  flags: Flags;
  /** `--Keyword value` pairs that are not known flags, for commands that accept them (px-find). */
  extra: Record<string, string>;
  /** Words that are not options (px-send's files), for commands that accept them; all words after `--` too. */
  positional: string[];
}

/** A word shaped like a flag, as the commands have always read one: one or two dashes, a name, perhaps =value. */
const FLAG_WORD = /^--?[A-Za-z][\w-]*(?:=.*)?$/s;

/**
 * The command line as util.parseArgs is to read it, word for word, so that each token's index still
 * points at what was typed. Two spellings parseArgs reads otherwise than pypx's commands:
 * - one dash before a name (pypx's -d, -t, -l, and -aet, -d=DIR, which the commands took too): given a
 *   second dash, since parseArgs reads -aet as -a -e -t and -d=DIR as -d with the value "=DIR";
 * - a word that starts with a dash but is no flag (-5, --2, -x.dcm, the date range -20201231): a value
 *   or, in px-send, a file; parseArgs would read an option in it, so it stands behind a plain word and
 *   is read back from argv.
 */
function forParseArgs(argv: string[]): string[] {
  return argv.map((word) => {
    if (FLAG_WORD.test(word)) return word.startsWith('--') ? word : `-${word}`;
    return word.startsWith('-') && word !== '-' && word !== '--' ? 'operand' : word;
  });
}

export function parseCommandLine(argv: string[], specs: FlagSpec[], acceptExtra = false, acceptPositional = false): ParsedCommandLine {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) for (const name of [spec.name, spec.alias]) if (name) byName.set(name, spec);
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, spec] of byName) options[name] = { type: spec.value ? 'string' : 'boolean' };
  // px-find's query keys: any other --Name on the line takes a value.
  if (acceptExtra) {
    for (const word of argv.filter((w) => FLAG_WORD.test(w) && w.startsWith('--'))) {
      const name = word.slice(2).split('=')[0] as string;
      if (!Object.hasOwn(options, name)) options[name] = { type: 'string' };
    }
  }
  // Not strict: the refusals below are the commands' own, naming the word as typed (--bogus=x);
  // parseArgs's strict messages are worded otherwise and would name --bogus only.
  const { tokens } = parseArgs({ args: forParseArgs(argv), options, strict: false, allowPositionals: true, tokens: true });
  const flags: Flags = {};
  const extra: Record<string, string> = {};
  const positional: string[] = [];
  for (const token of tokens) {
    const word = argv[token.index] as string;
    if (token.kind !== 'option') {
      if (!acceptPositional) throw new UsageError(`unexpected argument "${word}"`);
      if (token.kind === 'positional') positional.push(word);
      continue;
    }
    const spec = byName.get(token.name);
    if (!spec && !(acceptExtra && word.startsWith('--'))) throw new UsageError(`unknown option ${word}`);
    if (spec && !spec.value) {
      // parseArgs hands a switch its inline value (--tls=false) without a word: it would turn TLS on.
      if (token.inlineValue) throw new UsageError(`${word.split('=')[0]} takes no value: give it to switch it on, leave it out for off`);
      flags[spec.name] = true;
      continue;
    }
    // parseArgs takes the next word, whatever it is; one shaped like a flag (--aet --aec X) means a value was left out.
    const value = token.inlineValue ? token.value : token.value === undefined ? undefined : argv[token.index + 1];
    if (value === undefined || (!token.inlineValue && /^--?[A-Za-z]/.test(value))) throw new UsageError(`${word} needs a value`);
    if (spec) flags[spec.name] = value;
    else extra[token.name] = value;
  }
  for (const spec of specs) if (spec.default !== undefined && flags[spec.name] === undefined) flags[spec.name] = spec.default;
  return { flags, extra, positional };
}

/** PACS settings from the connection flags; a bad value is bad usage. */
export function pacsSettingsFromFlags(flags: Flags, extra: Record<string, unknown> = {}): PacsSettings {
  if (typeof flags.url === 'string') return dicomwebSettingsFromFlags(flags);
  for (const required of ['aec', 'serverIP']) if (typeof flags[required] !== 'string') throw new UsageError(`--${required} is required`);
  try {
    return validatePacsSettings({
      aet: flags.aet,
      aec: flags.aec,
      serverIP: flags.serverIP,
      serverPort: flags.serverPort,
      timeout: flags.timeout,
      ...(typeof flags.executable === 'string' ? { executable: flags.executable } : {}),
      ...tlsSettingsFromFlags(flags),
      ...extra,
    });
  } catch (err) {
    if (err instanceof SettingsError) throw new UsageError(err.problems.join('; '));
    throw err;
  }
}

/** --url and the HTTP credentials; a password or token may come from the environment instead of the command line. */
function dicomwebSettingsFromFlags(flags: Flags): PacsSettings {
  const optional = (flag: string, variable?: string) => {
    const value = typeof flags[flag] === 'string' ? flags[flag] : variable ? process.env[variable] : undefined;
    return value ? { [flag]: value } : {};
  };
  try {
    return validatePacsSettings({
      protocol: 'dicomweb',
      url: flags.url,
      timeout: flags.timeout,
      ...optional('user'),
      ...optional('password', 'PYPX_PASSWORD'),
      ...optional('token', 'PYPX_TOKEN'),
      ...optional('tlsCa'),
    });
  } catch (err) {
    if (err instanceof SettingsError) throw new UsageError(err.problems.join('; '));
    throw err;
  }
}

export function helpText(command: string, summary: string, specs: FlagSpec[], footer = '', operands = ''): string {
  const rows = specs.map((s) => {
    // pypx spells its one-letter options with one dash (-d, -t, -l).
    const dashes = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);
    const left = `  ${dashes(s.name)}${s.alias ? `, ${dashes(s.alias)}` : ''}${s.value ? ` ${s.value}` : ''}`;
    return `${left.padEnd(30)} ${s.help}${s.default !== undefined ? ` (default ${s.default})` : ''}`;
  });
  return `usage: ${command} [options]${operands ? ` ${operands}` : ''}\n\n${summary}\n\noptions:\n${rows.join('\n')}\n  --help                       show this help and exit\n${footer ? `\n${footer}\n` : ''}`;
}

export interface CommandDefinition {
  name: string;
  summary: string;
  flags: FlagSpec[];
  acceptExtra?: boolean;
  /** Words that are not options are handed to run() (px-send's files). */
  acceptPositional?: boolean;
  /** Shown after [options] in the usage line, e.g. "FILE|DIR...". */
  operands?: string;
  footer?: string;
  /**
   * The result to print, and on failure the error whose message explains it; `dataLines`, the JSON of
   * each item of `result.data` when the command made it already (px-find, while findscu answered).
   */
  run(parsed: ParsedCommandLine): Promise<{ result: PypxResult<unknown>; error?: Error; dataLines?: readonly string[] }>;
}

/**
 * A reader that went away (`px-find ... | head`) ends the command quietly with status 0, as Unix
 * tools do, after `beforeExit` (px-listen stops its receiver). Node ignores SIGPIPE: without this the
 * failed write is an unhandled 'error' event and a stack trace.
 */
export function exitQuietlyWhenStdoutCloses(beforeExit: () => Promise<unknown> | void = () => undefined): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') {
      process.stderr.write(`cannot write the result: ${err.message}\n`);
      process.exit(1);
    }
    void Promise.resolve()
      .then(beforeExit)
      .finally(() => process.exit(0));
  });
}

/**
 * The result as JSON, one key per line and each record of a list on a line of its own: readable with
 * `| head` and `jq`, and a 10,000-record answer is written in a third of the time indented JSON takes.
 */
export function formatResult(result: object, dataLines?: readonly string[]): string {
  const lines = Object.entries(result).map(([key, value]) => {
    const items = key === 'data' && Array.isArray(value) && dataLines?.length === value.length ? dataLines : Array.isArray(value) ? value.map((item) => JSON.stringify(item)) : undefined;
    const text = items?.length ? `[\n${items.map((item) => `    ${item}`).join(',\n')}\n  ]` : JSON.stringify(value);
    return `  ${JSON.stringify(key)}: ${text}`;
  });
  return `{\n${lines.join(',\n')}\n}\n`;
}

/** Runs a command: prints the result as JSON on stdout and sets the exit code; never a stack trace for a user's mistake. */
export async function main(command: CommandDefinition, argv = process.argv.slice(2)): Promise<void> {
  exitQuietlyWhenStdoutCloses();
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(command.name, command.summary, command.flags, command.footer, command.operands));
    return;
  }
  try {
    const parsed = parseCommandLine(argv, command.flags, command.acceptExtra, command.acceptPositional);
    const { result, error, dataLines } = await command.run(parsed);
    process.stdout.write(formatResult(result, dataLines));
    if (error) process.stderr.write(`${command.name}: ${error.message}\n`);
    process.exitCode = result.status === 'success' ? 0 : 1;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${command.name}: ${err.message} (see ${command.name} --help)\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`${command.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

/** px-move's UID flags, shared by px-get. */
export const UID_FLAGS: FlagSpec[] = [
  { name: 'studyUID', alias: 'StudyInstanceUID', value: 'UID', help: 'Study Instance UID' },
  { name: 'seriesUID', alias: 'SeriesInstanceUID', value: 'UID', help: 'Series Instance UID' },
  { name: 'instanceUID', alias: 'SOPInstanceUID', value: 'UID', help: 'SOP Instance UID: one instance' },
];

/** The one retrieve the UID flags ask for; a missing or malformed UID is bad usage. */
export function requestFromUidFlags(flags: Flags): MoveRequest {
  const uids = { StudyInstanceUID: flags.studyUID, SeriesInstanceUID: flags.seriesUID, SOPInstanceUID: flags.instanceUID };
  if (!Object.values(uids).some(Boolean)) throw new UsageError('give --studyUID, --seriesUID or --instanceUID');
  try {
    const [request] = parseMoveRequests(uids, 'the UID flags');
    if (request) return request;
  } catch (err) {
    if (err instanceof PacsError) throw new UsageError(err.message);
    throw err;
  }
  throw new UsageError('give --studyUID, --seriesUID or --instanceUID');
}
