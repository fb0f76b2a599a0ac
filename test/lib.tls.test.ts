import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { toPacsError } from '../lib/core/errors';
import { resolveListenerOptions } from '../lib/ops/listen/options';
import { buildStorescpArgs } from '../lib/ops/listen/storescp-command';
import { checkTlsSettings } from '../lib/core/tls';
import { describeDcmtkFailure, describeIncomingTlsFailure } from '../lib/dcmtk/failures';
import { buildTlsArgs, refuseTlsFor, tlsKeyInput } from '../lib/dcmtk/tls';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
const ENCRYPTED_KEY = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n';

describe('TLS settings and DCMTK arguments', () => {
  let dir: string;
  let ca: string;
  let cert: string;
  let key: string;
  let encryptedKey: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pypx-tls-unit-'));
    [ca, cert, key] = ['ca.pem', 'cert.pem', 'key.pem'].map((name) => path.join(dir, name)) as [string, string, string];
    encryptedKey = path.join(dir, 'encrypted.key');
    await Promise.all([writeFile(ca, CERT), writeFile(cert, CERT), writeFile(key, KEY), writeFile(encryptedKey, ENCRYPTED_KEY)]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('builds nothing with TLS off, whatever the file fields hold', () => {
    const { settings, problems } = checkTlsSettings({ tls: false, tlsCa: '/nowhere' }, 'scu');
    assert.deepEqual(problems, []);
    assert.deepEqual(buildTlsArgs(settings, 'scu'), []);
  });

  it('a client presents its certificate, or connects anonymously, and always verifies the PACS against tlsCa', () => {
    const withCert = checkTlsSettings({ tls: true, tlsCa: ca, tlsCert: cert, tlsKey: key }, 'scu');
    assert.deepEqual(withCert.problems, []);
    assert.deepEqual(buildTlsArgs(withCert.settings, 'scu'), ['+tls', key, cert, '-pw', '+cf', ca, '--require-peer-cert']);
    const anonymous = checkTlsSettings({ tls: true, tlsCa: ca }, 'scu');
    assert.deepEqual(buildTlsArgs(anonymous.settings, 'scu'), ['+tla', '+cf', ca, '--require-peer-cert']);
  });

  it('hands a key password to standard input (+ps), never to the command line', () => {
    const { settings } = checkTlsSettings({ tls: true, tlsCa: ca, tlsCert: cert, tlsKey: key, tlsKeyPassword: 's3cret' }, 'scu');
    const args = buildTlsArgs(settings, 'scu');
    assert.ok(args.includes('+ps'));
    assert.ok(!args.some((a) => a.includes('s3cret')));
    assert.equal(tlsKeyInput(settings), 's3cret\n');
    assert.equal(tlsKeyInput({ ...settings, tls: false }), undefined);
  });

  it('makes relative paths absolute, so that no path is read as an option', () => {
    const relative = path.relative(process.cwd(), ca);
    const { settings } = checkTlsSettings({ tls: true, tlsCa: relative }, 'scu');
    assert.equal(settings.tlsCa, ca);
    assert.deepEqual(buildTlsArgs(settings, 'scu'), ['+tla', '+cf', ca, '--require-peer-cert']);
  });

  it('names each problem: no CA for a client, a certificate without its key, unreadable or non-PEM files', () => {
    assert.match(checkTlsSettings({ tls: true }, 'scu').problems.join(), /tlsCa is empty: DICOM over TLS needs the CA certificate/);
    assert.match(checkTlsSettings({ tls: true, tlsCa: ca, tlsCert: cert }, 'scu').problems.join(), /tlsCert and tlsKey go together/);
    assert.match(checkTlsSettings({ tls: true, tlsCa: path.join(dir, 'missing.pem') }, 'scu').problems.join(), /tlsCa file \S+missing\.pem cannot be read \(ENOENT\)/);
    assert.match(checkTlsSettings({ tls: true, tlsCa: key }, 'scu').problems.join(), /tlsCa file \S+key\.pem is not a PEM certificate/);
    assert.match(checkTlsSettings({ tls: true, tlsCa: ca, tlsCert: cert, tlsKey: cert }, 'scu').problems.join(), /tlsKey file \S+cert\.pem is not a PEM private key/);
    assert.match(checkTlsSettings({ tls: 'yes' }, 'scu').problems.join(), /tls must be true or false/);
    assert.match(checkTlsSettings({ tls: true, tlsCa: ca, tlsCert: cert, tlsKey: encryptedKey }, 'scu').problems.join(), /is password-protected, and no key password is set/);
    assert.deepEqual(checkTlsSettings({ tls: true, tlsCa: ca, tlsCert: cert, tlsKey: encryptedKey, tlsKeyPassword: 'p' }, 'scu').problems, []);
    assert.match(checkTlsSettings({ tls: true, tlsCa: ca, tlsCert: cert, tlsKey: key, tlsKeyPassword: 'a\nb' }, 'scu').problems.join(), /password contains a line break/);
  });

  it('storescp presents its certificate and, with tlsCa, accepts only senders that CA signed', () => {
    const base = { aet: 'LISTEN', port: 11113, dataDir: dir };
    const strict = resolveListenerOptions({ ...base, tls: true, tlsCert: cert, tlsKey: key, tlsCa: ca });
    const args = buildStorescpArgs(strict, 'log.cfg');
    assert.deepEqual(args.slice(args.indexOf('+tls'), args.indexOf('+tls') + 7), ['+tls', key, cert, '-pw', '+cf', ca, '--require-peer-cert']);
    const open = buildStorescpArgs(resolveListenerOptions({ ...base, tls: true, tlsCert: cert, tlsKey: key }), 'log.cfg');
    assert.ok(open.includes('--ignore-peer-cert'));
    assert.ok(!buildStorescpArgs(resolveListenerOptions(base), 'log.cfg').includes('+tls'));
    assert.throws(() => resolveListenerOptions({ ...base, tls: true }), /tlsCert is empty: a TLS receiver needs its own certificate.*tlsKey is empty/);
    assert.throws(() => resolveListenerOptions({ ...base, tls: true, tlsCert: cert, tlsKey: encryptedKey }), /tlsKey file \S+ is password-protected: a receiver needs a key without a password/);
  });

  it('refuses tools without TLS on a TLS config, as an error a node can report', () => {
    assert.doesNotThrow(() => refuseTlsFor('getscu', { tls: false }));
    const error = toPacsError((() => {
      try {
        refuseTlsFor('getscu', { tls: true });
      } catch (err) {
        return err;
      }
      return undefined;
    })());
    assert.equal(error.kind, 'tls');
    assert.equal(error.reason, 'no C-GET over TLS');
    assert.match(error.message, /getscu: DICOM over TLS is on for this PACS, and DCMTK's getscu has no TLS: the C-GET was not sent/);
  });

  it('explains DCMTK\'s TLS complaints in words an administrator can act on', () => {
    const settings = { aet: 'NODERED', aec: 'PACS', host: 'pacs', port: 2762, timeout: 5, tls: true, tlsCa: ca, tlsCert: cert, tlsKey: key };
    const said = (output: string, over: Record<string, unknown> = {}) =>
      describeDcmtkFailure('echoscu', { command: 'echoscu', exitCode: 1, output, timedOut: false, aborted: false, elapsedMs: 1 }, { ...settings, ...over });
    assert.match(said('F: Association Request Failed: 000b:0886 TLS error: certificate verify failed').message, /the PACS's certificate is not signed by the CA in tlsCa/);
    assert.match(said('E: OpenSSL error 1c800064: bad decrypt\nF: 000b:0004 Unable to load private TLS key from \'k\'').message, /the key password is wrong/);
    assert.match(said('F: Association Request Failed: 000b:0017 OpenSSL I/O error (SSL_ERROR_SYSCALL)').message, /does not speak DICOM over TLS on this port/);
    assert.match(said('F: Association Request Failed: 0006:0317 Peer aborted Association (or never connected)').message, /did not accept our certificate/);
    assert.match(said('F: Association Request Failed: 0006:0317 Peer aborted Association (or never connected)', { tls: false }).message, /if it requires DICOM over TLS, turn TLS on/);
    assert.match(said('F: Association Request Failed: 0006:030c Illegal service parameter: ::1:104', { tls: false, host: '::1' }).message, /cannot connect to an IPv6 address written as such/);
    assert.equal(describeIncomingTlsFailure('Receiving Association failed: 000b:08c7 TLS error: peer did not return a certificate', settings),
      'refused a sender over TLS: it offered no certificate, and with tlsCa set only senders with a certificate from that CA are accepted');
    assert.equal(describeIncomingTlsFailure('Association Received 127.0.0.1', settings), undefined);
  });
});
