// DICOM over TLS (PS3.15 secure transport): its settings, checked for a client or a receiver.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface TlsSettings {
  /** DICOM over TLS on. */
  tls?: boolean;
  /** PEM file of the CA (or peer) certificates to trust. */
  tlsCa?: string;
  /** Our own certificate (PEM). */
  tlsCert?: string;
  /** Our own private key (PEM), possibly password-protected. */
  tlsKey?: string;
  /** tlsKey's password: never on a command line; DCMTK reads it from its standard input. */
  tlsKeyPassword?: string;
}

/** Client (echoscu, findscu, storescu) or server (storescp). */
export type TlsRole = 'scu' | 'scp';

export const TLS_SETTING_KEYS = ['tls', 'tlsCa', 'tlsCert', 'tlsKey', 'tlsKeyPassword'] as const;

const PEM = {
  tlsCa: { label: /-----BEGIN (TRUSTED )?CERTIFICATE-----/, what: 'a PEM certificate' },
  tlsCert: { label: /-----BEGIN (TRUSTED )?CERTIFICATE-----/, what: 'a PEM certificate' },
  tlsKey: { label: /-----BEGIN ([A-Z]+ )*PRIVATE KEY-----/, what: 'a PEM private key' },
} as const;

function onOff(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '' || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  return undefined;
}

/**
 * Checks TLS settings for a role and completes them: file paths made absolute (so that DCMTK can
 * never read one as an option), each file read once to see that it is what its field says. Settings
 * with TLS off are returned as `{ tls: false }`: the file fields are kept in the editor, not used.
 */
export function checkTlsSettings(input: Record<string, unknown>, role: TlsRole): { settings: TlsSettings; problems: string[] } {
  const problems: string[] = [];
  const tls = onOff(input.tls);
  if (tls === undefined) problems.push(`tls must be true or false, not ${JSON.stringify(input.tls)}`);
  if (!tls) return { settings: { tls: false }, problems };

  const settings: TlsSettings = { tls: true };
  let keyEncrypted = false;
  for (const key of ['tlsCa', 'tlsCert', 'tlsKey'] as const) {
    const value = input[key];
    if (value === undefined || value === null || (typeof value === 'string' && !value.trim())) continue;
    if (typeof value !== 'string') {
      problems.push(`${key} must be the path of a PEM file, not ${typeof value}`);
      continue;
    }
    const file = path.resolve(value.trim());
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (err) {
      problems.push(`${key} file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    if (!PEM[key].label.test(text)) problems.push(`${key} file ${file} is not ${PEM[key].what}`);
    if (key === 'tlsKey') keyEncrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text);
    settings[key] = file;
  }
  const password = input.tlsKeyPassword;
  if (typeof password === 'string' && password !== '') {
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(password)) problems.push('the private key password contains a line break or control character');
    else settings.tlsKeyPassword = password;
  }

  const missing = (key: 'tlsCa' | 'tlsCert' | 'tlsKey') => !settings[key] && !problems.some((p) => p.startsWith(key));
  if (role === 'scu') {
    if (missing('tlsCa')) problems.push("tlsCa is empty: DICOM over TLS needs the CA certificate (PEM) that signed the PACS's certificate");
    if (missing('tlsCert') !== missing('tlsKey')) problems.push('tlsCert and tlsKey go together: give both (a client certificate and its private key) or neither');
    if (keyEncrypted && !settings.tlsKeyPassword) problems.push(`tlsKey file ${settings.tlsKey} is password-protected, and no key password is set`);
  } else {
    if (missing('tlsCert')) problems.push("tlsCert is empty: a TLS receiver needs its own certificate (PEM)");
    if (missing('tlsKey')) problems.push("tlsKey is empty: a TLS receiver needs its certificate's private key (PEM)");
    if (keyEncrypted) problems.push(`tlsKey file ${settings.tlsKey} is password-protected: a receiver needs a key without a password (openssl pkey -in <key> -out <new key>, readable only by the user the receiver runs as)`);
  }
  return { settings, problems };
}
