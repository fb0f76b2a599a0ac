// Certificates for DICOM over TLS tests, made with Debian's openssl in a temp folder: a CA, certificates
// it signs, and a second CA that nobody trusts.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Party {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  /** The CA every party below trusts. */
  ca: string;
  /** A CA nobody trusts, and a party it signed. */
  otherCa: string;
  rogue: Party;
  pacs: Party;
  client: Party;
  /** The client's key again, encrypted with `password`. */
  clientEncryptedKey: string;
  password: string;
  listener: Party;
  remove(): Promise<void>;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

async function makeCa(dir: string, name: string): Promise<Party> {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
  return { cert, key };
}

async function makeParty(dir: string, name: string, ca: Party): Promise<Party> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2']);
  return { cert, key };
}

export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-tls-'));
  const [ca, other] = await Promise.all([makeCa(dir, 'test-ca'), makeCa(dir, 'other-ca')]);
  const [pacs, client, listener, rogue] = await Promise.all(
    (['pacs', 'client', 'listener', 'rogue'] as const).map((name) => makeParty(dir, name, name === 'rogue' ? other : ca)),
  );
  const password = 'key pass 1';
  const clientEncryptedKey = path.join(dir, 'client-encrypted.key');
  await openssl(['pkey', '-in', client.key, '-aes256', '-passout', `pass:${password}`, '-out', clientEncryptedKey]);
  return {
    dir, ca: ca.cert, otherCa: other.cert, rogue, pacs, client, clientEncryptedKey, password, listener,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
