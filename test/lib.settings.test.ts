import assert from 'node:assert/strict';
import { buildEchoArgs } from '../lib/ops/echo/dimse';
import { SettingsError, validatePacsSettings } from '../lib/core/settings';
import { mergePacsOverrides } from '../nodes/pacs-policy';

const good = { aet: 'NODERED', aec: 'ORTHANC', host: '127.0.0.1', port: 4242 };

describe('PACS settings', () => {
  it('accepts pypx 0.8 keys (server_ip, server_port as text) and pypx 3 keys', () => {
    const fromOld = validatePacsSettings({ aet: 'CHIPS', aec: 'ORTHANC', server_ip: '10.0.0.1', server_port: '4242' });
    assert.equal(fromOld.host, '10.0.0.1');
    assert.equal(fromOld.port, 4242);
    const fromNew = validatePacsSettings({ aet: 'CHIPS', aec: 'ORTHANC', serverIP: 'pacs', serverPort: 104 });
    assert.equal(fromNew.host, 'pacs');
    assert.equal(fromNew.timeout, 30);
  });

  it('names every problem at once', () => {
    assert.throws(
      () => validatePacsSettings({ aet: 'A_CALLING_AE_TITLE_TOO_LONG', aec: 'BAD\\AE', host: '', port: 70000, timeout: -1 }),
      (err: unknown) => {
        assert.ok(err instanceof SettingsError);
        assert.match(err.message, /calling AE title \(aet\) "A_CALLING_AE_TITLE_TOO_LONG" is 27 characters long; DICOM allows at most 16/);
        assert.match(err.message, /called AE title \(aec\) "BAD\\AE" contains a backslash/);
        assert.match(err.message, /host is empty/);
        assert.match(err.message, /port must be a whole number from 1 to 65535, not number 70000/);
        assert.match(err.message, /timeout must be a number of seconds above 0/);
        return true;
      },
    );
  });

  it('refuses control characters and wrong types in AE titles', () => {
    assert.throws(() => validatePacsSettings({ ...good, aet: 'AE\nX' }), /aet\) contains a control character/);
    assert.throws(() => validatePacsSettings({ ...good, aec: 42 }), /aec\) must be text, not number 42/);
    assert.throws(() => validatePacsSettings({ ...good, port: 'abc' }), /port must be a whole number/);
  });

  it('lays msg.pacs over the config when the config accepts it, and refuses unknown keys or a non-object', () => {
    assert.equal(mergePacsOverrides(good, { host: 'other', serverPort: '11112' }, true).port, 11112);
    assert.throws(() => mergePacsOverrides(good, { ip: '10.0.0.1' }, true), /msg.pacs has unknown setting ip/);
    assert.throws(() => mergePacsOverrides(good, 'pacs2', true), /msg.pacs must be an object of PACS settings, not string "pacs2"/);
  });

  it('refuses any msg.pacs unless the config ticks "accept msg.pacs", and never lets it choose the program or TLS', () => {
    assert.equal(mergePacsOverrides(good, undefined).host, '127.0.0.1');
    assert.throws(() => mergePacsOverrides(good, { port: 104 }), /msg\.pacs is not accepted .*tick "accept msg\.pacs" \(allowMsgPacs\)/);
    for (const key of ['executable', 'dcmtkDir', 'tls', 'tlsCa', 'tlsCert', 'tlsKey', 'tlsKeyPassword', 'protocol', 'url', 'user', 'password', 'token', 'retries']) {
      assert.throws(() => mergePacsOverrides(good, { [key]: '/tmp/x' }, true), new RegExp(`msg\\.pacs cannot set ${key}: a message chooses where to connect`));
    }
  });

  it('refuses hosts and AE titles that DCMTK would read as options, and accepts host names, IPv4 and IPv6', () => {
    for (const host of ['--help', '-d', '+tls', '-', '+']) {
      assert.throws(() => validatePacsSettings({ ...good, host }), new RegExp(`host "\\${host[0]}.*which DCMTK would read as an option`));
    }
    for (const host of ['a b', 'pacs;rm', 'pacs/x', '999.1.1.1', 'pacs..example.org', 'x'.repeat(254)]) {
      assert.throws(() => validatePacsSettings({ ...good, host }), /host ".*" is not/, host);
    }
    for (const host of ['pacs', 'pacs-1.hospital.example.org', '10.0.0.1', '::1', 'fe80::1', 'PACS_01']) {
      assert.equal(validatePacsSettings({ ...good, host }).host, host);
    }
    for (const aet of ['-d', '+tls', '--help', ' -x']) {
      assert.throws(() => validatePacsSettings({ ...good, aet }), /calling AE title \(aet\) ".*" starts with ".", which DCMTK would read as an option/);
    }
    assert.throws(() => validatePacsSettings({ ...good, aec: 'MÜLLER' }), /aec\) "MÜLLER" has characters outside DICOM's default repertoire/);
    assert.throws(() => validatePacsSettings({ ...good, aetl: '-aet' }), /move destination AE title \(aetl\) "-aet" starts with "-"/);
    assert.equal(validatePacsSettings({ ...good, aet: 'A-B+C' }).aet, 'A-B+C');
    for (const port of [0, 65536, 1.5, '-104', '+tls', true]) {
      assert.throws(() => validatePacsSettings({ ...good, port }), /port must be a whole number from 1 to 65535/);
    }
  });

  it('builds echoscu arguments that end like every pypx command', () => {
    const args = buildEchoArgs(validatePacsSettings({ ...good, timeout: 5 }));
    assert.deepEqual(args.slice(-6), ['-aec', 'ORTHANC', '-aet', 'NODERED', '127.0.0.1', '4242']);
    assert.deepEqual(args.slice(0, 6), ['--timeout', '5', '--acse-timeout', '5', '--dimse-timeout', '5']);
  });
});
