// How to reach a DICOMweb service: its root URL and HTTP credentials. Checked here, used by the client.

export const PROTOCOLS = ['dimse', 'dicomweb'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface DicomwebSettings {
  /** The service root, e.g. https://pacs.example.org/dicom-web, without a trailing slash. */
  url: string;
  /** HTTP basic authentication. */
  user?: string;
  password?: string;
  /** HTTP bearer authentication (OAuth access token); wins over user/password when both are set. */
  token?: string;
  /** PEM file of a private CA to trust for https, besides the system's. */
  tlsCa?: string;
  /** Further attempts after a 5xx answer or a failed connection. */
  retries: number;
}

export const DEFAULT_RETRIES = 2;
export const MAX_RETRIES = 10;

/** The protocol a config names; absent or empty is DIMSE, so that configs from before DICOMweb keep working. */
export function parseProtocol(value: unknown): Protocol | undefined {
  if (value === undefined || value === null || value === '') return 'dimse';
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  return (PROTOCOLS as readonly string[]).includes(text) ? (text as Protocol) : undefined;
}

/** Why a service URL is unusable, or undefined. */
export function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return 'url (the DICOMweb service root, e.g. https://pacs.example.org/dicom-web) is empty';
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return `url "${value}" is not a URL (write it whole: https://host/path)`;
  }
  // Never quoted whole: a query may carry a token (?access_token=...), and errors are logged.
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `url "${shown}" must start with http:// or https://, not ${url.protocol}`;
  if (url.username || url.password) return 'url must not hold a user name or password: put them in the user and password fields';
  if (url.search || url.hash) return `url "${shown}" must be the service root, without ?query or #fragment`;
  return undefined;
}

/**
 * Checks the DICOMweb part of a config. Returns the settings and the problems found; `text` reads an
 * optional text field (trimmed, undefined when empty) and reports wrongly typed values itself.
 */
export function checkDicomwebSettings(
  raw: Record<string, unknown>,
  text: (key: string) => string | undefined,
  describe: (value: unknown) => string,
): { settings?: DicomwebSettings; problems: string[] } {
  const problems: string[] = [];
  const badUrl = urlProblem(raw.url);
  if (badUrl) problems.push(badUrl);
  const user = text('user');
  const password = typeof raw.password === 'string' && raw.password !== '' ? raw.password : undefined;
  if (raw.password !== undefined && raw.password !== '' && typeof raw.password !== 'string') problems.push(`password must be text, not ${typeof raw.password}`);
  if (password !== undefined && !user) problems.push('a password is set but no user: basic authentication needs both');
  if (user?.includes(':')) problems.push('user must not contain ":" (HTTP basic authentication separates user and password with it)');
  const token = text('token');
  // eslint-disable-next-line no-control-regex
  if (token && /[\s\x00-\x1f\x7f]/.test(token)) problems.push('token contains white space or control characters: paste the access token alone, without "Bearer"');
  const tlsCa = text('tlsCa');
  let retries = DEFAULT_RETRIES;
  if (raw.retries !== undefined && raw.retries !== '') {
    const n = typeof raw.retries === 'number' ? raw.retries : typeof raw.retries === 'string' && raw.retries.trim() !== '' ? Number(raw.retries) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > MAX_RETRIES) problems.push(`retries must be a whole number from 0 to ${MAX_RETRIES}, not ${describe(raw.retries)}`);
    else retries = n;
  }
  if (problems.length) return { problems };
  const settings: DicomwebSettings = { url: (raw.url as string).trim().replace(/\/+$/, ''), retries };
  if (user) settings.user = user;
  if (password !== undefined) settings.password = password;
  if (token) settings.token = token;
  if (tlsCa) settings.tlsCa = tlsCa;
  return { settings, problems };
}
