import { isIP } from 'node:net';
import type { DcmtkLocation } from '../dcmtk/run';
import { checkDicomwebSettings, type DicomwebSettings, parseProtocol, PROTOCOLS } from './dicomweb-settings';
import { checkTlsSettings, TLS_SETTING_KEYS, type TlsSettings } from './tls';

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

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid PACS settings: ${problems.join('; ')}`);
    this.name = 'SettingsError';
  }
}

// pypx 0.8 spells the address server_ip/server_port, pypx 3 serverIP/serverPort.
const KEY_ALIASES: Record<string, keyof PacsSettings> = {
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
 * What a message may set (msg.pacs): where to connect over DIMSE and as whom, never what runs, which
 * certificates are trusted, nor a DICOMweb service and its credentials.
 */
export const MESSAGE_SETTING_KEYS: ReadonlySet<string> = new Set(['aet', 'aec', 'host', 'port', 'aetl', 'timeout', ...Object.keys(KEY_ALIASES)]);

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

/**
 * A field that still reads `${NAME}` after deploy: Node-RED replaces a whole-field `${NAME}` by the
 * environment variable's value and leaves it as written when the variable is not set.
 */
export function unsetEnvVariableProblem(field: string, value: unknown): string | undefined {
  const name = typeof value === 'string' ? /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value.trim())?.[1] : undefined;
  return name ? `${field} is \${${name}}, but the environment variable ${name} is not set where Node-RED runs` : undefined;
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
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
  const unset = Object.entries(raw).map(([key, value]) => unsetEnvVariableProblem(key, value)).filter((p): p is string => !!p);
  if (unset.length) throw new SettingsError(unset);
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

/**
 * Lays per-message overrides (msg.pacs) over a base, when the config allows it (its "accept
 * msg.pacs" box, allowMsgPacs). Anything but a plain object, a key that is not a PACS setting, or
 * one a message may not set (the program to run, TLS) is refused: a typo such as `ip` must not
 * silently reach the default PACS, and a message carries data, never a program.
 */
export function mergePacsOverrides(base: Record<string, unknown>, overrides: unknown, allowMsgPacs = false): PacsSettings {
  if (overrides === undefined || overrides === null) return validatePacsSettings(base);
  if (!allowMsgPacs) {
    throw new SettingsError(['msg.pacs is not accepted by this PACS config: tick "accept msg.pacs" (allowMsgPacs) in the px-pacs config to let messages choose where to connect (aet, aec, host, port, aetl, timeout), or remove msg.pacs from the message']);
  }
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new SettingsError([`msg.pacs must be an object of PACS settings, not ${describeType(overrides)}`]);
  }
  const keys = Object.keys(overrides);
  const forbidden = keys.filter((key) => PACS_SETTING_KEYS.has(key) && !MESSAGE_SETTING_KEYS.has(key));
  if (forbidden.length) {
    throw new SettingsError([
      `msg.pacs cannot set ${forbidden.join(', ')}: a message chooses where to connect (aet, aec, host, port, aetl, timeout), never the program that runs, the TLS settings or a DICOMweb service and its credentials; set those in the px-pacs config`,
    ]);
  }
  const unknown = keys.filter((key) => !MESSAGE_SETTING_KEYS.has(key));
  if (unknown.length) {
    throw new SettingsError([
      `msg.pacs has unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: aet, aec, host, port, aetl, timeout)`,
    ]);
  }
  return validatePacsSettings({ ...canonicalSettingKeys(base), ...canonicalSettingKeys(overrides as Record<string, unknown>) });
}

/** The arguments that end every pypx command line: `-aec <aec> -aet <aet> <host> <port>`. */
export function buildAssociationArgs(settings: PacsSettings): string[] {
  return ['-aec', settings.aec, '-aet', settings.aet, settings.host, String(settings.port)];
}

/** DCMTK's connection (-to), ACSE (-ta) and DIMSE (-td) timeouts, all set to the configured seconds. */
export function buildTimeoutArgs(settings: PacsSettings): string[] {
  const seconds = String(Math.max(1, Math.ceil(settings.timeout)));
  return ['--timeout', seconds, '--acse-timeout', seconds, '--dimse-timeout', seconds];
}

/** Grace beyond DCMTK's own timeouts before the process is killed outright. */
export function processDeadlineMs(settings: PacsSettings): number {
  return settings.timeout * 1000 + 2000;
}


/** How long a find or move may print nothing before it counts as hung: DCMTK's own timeouts fire first. */
export function idleDeadlineMs(settings: PacsSettings): number {
  return settings.timeout * 1000 + 5000;
}

/** pypx's calls take PACS settings and query keys in one object (`{...pacs, PatientID: 32124}`): this parts them. */
export function splitSettingsAndQuery(input: Record<string, unknown>): { settings: Record<string, unknown>; query: Record<string, unknown> } {
  const settings: Record<string, unknown> = {};
  const query: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) (PACS_SETTING_KEYS.has(key) ? settings : query)[key] = value;
  return { settings, query };
}
