import { isIP } from 'node:net';
import { KnownProblem } from './errors';
import { describeType } from './describe';
import { checkDicomwebSettings, type DicomwebSettings, parseProtocol, PROTOCOLS } from './dicomweb-settings';
import { checkTlsSettings, TLS_SETTING_KEYS, type TlsSettings } from './tls';

/** Where to find a DCMTK binary: an explicit file (pypx's `executable`), a folder, or PATH. */
export interface DcmtkLocation {
  executable?: string;
  dcmtkDir?: string;
}

/** How to reach one PACS: the px-pacs config node's fields, and pypx's settings dict. */
export interface PacsSettings extends DcmtkLocation, TlsSettings {
  /** Calling AE title: who we are. */
  aet: string;
  /** Called AE title: the PACS. */
  aec: string;
  host: string;
  port: number;
  /** AE title a C-MOVE sends to; empty means `aet`. */
  aetl?: string;
  /** Seconds to wait for the PACS at each step before giving up. */
  timeout: number;
  /** Set when the PACS is reached over DICOMweb (protocol "dicomweb") instead of DIMSE. */
  dicomweb?: DicomwebSettings;
}

export const DEFAULT_TIMEOUT_SECONDS = 30;

export class SettingsError extends KnownProblem {
  constructor(readonly problems: string[]) {
    super('bad-input', 'bad PACS settings', `invalid PACS settings: ${problems.join('; ')}`);
    this.name = 'SettingsError';
  }
}

// pypx 0.8 spells the address server_ip/server_port, pypx 3 serverIP/serverPort.
export const KEY_ALIASES: Record<string, keyof PacsSettings> = {
  server_ip: 'host',
  serverIP: 'host',
  server_port: 'port',
  serverPort: 'port',
};
export const PACS_SETTING_KEYS: ReadonlySet<string> = new Set([
  'aet', 'aec', 'host', 'port', 'aetl', 'timeout', 'dcmtkDir', 'executable', ...TLS_SETTING_KEYS, ...Object.keys(KEY_ALIASES),
  'protocol', 'url', 'user', 'password', 'token', 'retries',
]);
/**
 * Why an AE title is unusable, or undefined when it is fine. DICOM PS3.5 (VR AE): at most 16
 * characters of the default repertoire (printable ASCII) without backslash; leading and trailing
 * spaces do not count. A title starting with - or + is refused too: DCMTK would read it as an option.
 */
export function aeTitleProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be text, not ${describeType(value)}`;
  const title = value.trim();
  if (title.length === 0) return 'is empty';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(title)) return 'contains a control character';
  if (title.length > 16) return `"${title}" is ${title.length} characters long; DICOM allows at most 16`;
  if (title.includes('\\')) return `"${title}" contains a backslash`;
  if (/[^\x20-\x7e]/.test(title)) return `"${title}" has characters outside DICOM's default repertoire (printable ASCII)`;
  if (/^[-+]/.test(title)) return `"${title}" starts with "${title[0]}", which DCMTK would read as an option`;
  return undefined;
}

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
/** Why a host is unusable, or undefined: it must be a host name, an IPv4 or an IPv6 address. */
export function hostProblem(host: string): string | undefined {
  const shown = JSON.stringify(host.length > 80 ? `${host.slice(0, 80)}…` : host);
  if (isIP(host)) return undefined;
  if (/^[-+]/.test(host)) return `host ${shown} starts with "${host[0]}", which DCMTK would read as an option; give a host name or an IP address`;
  const labels = host.replace(/\.$/, '').split('.');
  if (host.length > 253 || !labels.every((label) => HOST_LABEL.test(label))) {
    return `host ${shown} is not a host name, an IPv4 or an IPv6 address`;
  }
  if (labels.every((label) => /^\d+$/.test(label))) return `host ${shown} is not a valid IPv4 address`;
  return undefined;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

/** Turns pypx 0.8 / pypx 3 keys into this package's names, without judging the values. */
export function canonicalSettingKeys(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) out[Object.hasOwn(KEY_ALIASES, key) ? (KEY_ALIASES[key] as string) : key] = value;
  return out;
}

/**
 * Checks and completes PACS settings. Every problem is named in one SettingsError; optional
 * fields left empty are dropped so that later layers can simply test for them.
 */
export function validatePacsSettings(input: Record<string, unknown>): PacsSettings {
  const raw = canonicalSettingKeys(input);
  const problems: string[] = [];
  const text = (key: string): string | undefined => {
    const value = raw[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') {
      problems.push(`${key} must be text, not ${describeType(value)}`);
      return undefined;
    }
    return value.trim() || undefined;
  };

  const protocol = parseProtocol(raw.protocol);
  if (!protocol) problems.push(`protocol must be one of ${PROTOCOLS.join(', ')}, not ${describeType(raw.protocol)}`);
  if (protocol === 'dicomweb') return validateDicomweb(raw, text, problems);
  for (const key of ['aet', 'aec'] as const) {
    const problem = aeTitleProblem(raw[key] ?? '');
    if (problem) problems.push(`${key === 'aet' ? 'calling AE title (aet)' : 'called AE title (aec)'} ${problem}`);
  }
  if (raw.aetl !== undefined && raw.aetl !== '') {
    const problem = aeTitleProblem(raw.aetl);
    if (problem) problems.push(`move destination AE title (aetl) ${problem}`);
  }
  const host = text('host');
  if (!host && !problems.some((p) => p.startsWith('host'))) problems.push('host is empty');
  else if (host) {
    const problem = hostProblem(host);
    if (problem) problems.push(problem);
  }

  const port = toNumber(raw.port);
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`port must be a whole number from 1 to 65535, not ${describeType(raw.port)}`);
  }
  const timeout = checkTimeout(raw, problems);
  const dcmtkDir = text('dcmtkDir');
  const executable = text('executable');
  const tls = checkTlsSettings(raw, 'scu');
  problems.push(...tls.problems);
  if (problems.length) throw new SettingsError(problems);

  const settings: PacsSettings = {
    aet: (raw.aet as string).trim(),
    aec: (raw.aec as string).trim(),
    host: host as string,
    port: port as number,
    timeout,
    ...(tls.settings.tls ? tls.settings : {}),
  };
  const aetl = typeof raw.aetl === 'string' ? raw.aetl.trim() : '';
  if (aetl) settings.aetl = aetl;
  if (dcmtkDir) settings.dcmtkDir = dcmtkDir;
  if (executable) settings.executable = executable;
  return settings;
}

function checkTimeout(raw: Record<string, unknown>, problems: string[]): number {
  if (raw.timeout === undefined || raw.timeout === '') return DEFAULT_TIMEOUT_SECONDS;
  const seconds = toNumber(raw.timeout);
  if (seconds !== undefined && seconds > 0 && seconds <= 86400) return seconds;
  problems.push(`timeout must be a number of seconds above 0, not ${describeType(raw.timeout)}`);
  return DEFAULT_TIMEOUT_SECONDS;
}

/** A DICOMweb PACS: a URL and credentials; AE titles, host and port do not apply (host and port come from the URL). */
function validateDicomweb(raw: Record<string, unknown>, text: (key: string) => string | undefined, problems: string[]): PacsSettings {
  const timeout = checkTimeout(raw, problems);
  const checked = checkDicomwebSettings(raw, text, describeType);
  problems.push(...checked.problems);
  if (problems.length || !checked.settings) throw new SettingsError(problems);
  const url = new URL(checked.settings.url);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const title = (key: 'aet' | 'aec') => (typeof raw[key] === 'string' ? (raw[key] as string).trim() : '');
  return { aet: title('aet'), aec: title('aec'), host: url.hostname, port, timeout, dicomweb: checked.settings };
}

/** pypx's calls take PACS settings and query keys in one object (`{...pacs, PatientID: 32124}`): this parts them. */
export function splitSettingsAndQuery(input: Record<string, unknown>): { settings: Record<string, unknown>; query: Record<string, unknown> } {
  const settings: Record<string, unknown> = {};
  const query: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) (PACS_SETTING_KEYS.has(key) ? settings : query)[key] = value;
  return { settings, query };
}


/** Settings of a PACS reached over DICOMweb. */
export type DicomwebPacs = PacsSettings & { dicomweb: DicomwebSettings };

export function isDicomweb(settings: PacsSettings): settings is DicomwebPacs {
  return settings.dicomweb !== undefined;
}
