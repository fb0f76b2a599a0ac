// DCMTK's complaints (its E: and F: lines, a final DIMSE status, storescp's refused associations)
// explained in the words a PACS administrator uses.
import { type FailureKind, PacsError } from '../core/errors';
import type { PypxResult } from '../core/result';
import type { PacsSettings } from '../core/settings';
import type { TlsSettings } from '../core/tls';
import type { DcmtkTool, RunResult } from './run';

/** The lines DCMTK marks as errors or fatal (E: / F:), which carry its own explanation. */
function dcmtkComplaints(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[EF]: /.test(line))
    .map((line) => line.slice(3));
}

/** Explains a failed DCMTK run in the words a PACS administrator uses. */
export function describeDcmtkFailure(
  tool: DcmtkTool,
  run: RunResult,
  settings: Pick<PacsSettings, 'aet' | 'aec' | 'host' | 'port' | 'timeout'> & TlsSettings,
): PacsError {
  const where = `${settings.aec} at ${settings.host}:${settings.port}`;
  const result: PypxResult<string> = { status: 'error', command: run.command, data: run.output.trim() };
  const complaints = dcmtkComplaints(run.output);
  const said = complaints.join(' ');
  const make = (kind: FailureKind, reason: string, message: string) => {
    if (!result.data) result.data = message;
    return new PacsError(kind, reason, `${tool}: ${message}`, result);
  };

  if (run.aborted) return make('aborted', 'stopped', `stopped before ${where} answered`);
  if (run.timedOut) {
    result.data = [result.data, `(no answer within ${settings.timeout} s: ${tool} was stopped)`].filter(Boolean).join('\n');
    return make('timeout', `timeout ${settings.timeout} s`, `no answer from ${where} within ${settings.timeout} s`);
  }
  const tls = describeTlsFailure(said, settings, where);
  if (tls) return make('tls', tls.reason, tls.message);
  if (/Connection refused/i.test(said)) {
    return make('refused', 'refused', `connection refused by ${settings.host}:${settings.port}: no DICOM service listens there`);
  }
  if (/unknown host/i.test(said)) return make('unknown-host', 'unknown host', `unknown host "${settings.host}"`);
  if (/Association Rejected/i.test(said)) {
    const why = /Reason: (.+?)(?: F:|$)/.exec(said)?.[1]?.trim() ?? 'no reason given';
    // Named by its address: the AE title we called may be the very thing it refused.
    const pacs = `the PACS at ${settings.host}:${settings.port}`;
    if (/Called AE Title/i.test(why)) {
      return make('rejected', 'called AE rejected', `${pacs} rejected the association: it does not answer to the called AE title "${settings.aec}" (${why}): set the called AE title (aec) to the PACS's own AE title`);
    }
    if (/Calling AE Title/i.test(why)) {
      return make('rejected', 'calling AE rejected', `${pacs} (${settings.aec}) rejected the association: it does not know the calling AE title "${settings.aet}" (${why}): add it to its modalities`);
    }
    return make('rejected', 'rejected', `${pacs} (${settings.aec}) rejected the association: ${why}`);
  }
  if (/Association Request Failed.*Peer aborted Association/i.test(said) && !settings.tls) {
    return make('rejected', 'aborted by PACS', `${where} aborted the association at once: if it requires DICOM over TLS, turn TLS on (px-pacs: TLS and CA; commands: --tls --tlsCa); else it does not accept calling AE title "${settings.aet}"`);
  }
  if (/Illegal service parameter/i.test(said) && settings.host.includes(':')) {
    return make('unknown-host', 'IPv6 not supported', `DCMTK cannot connect to an IPv6 address written as such ("${settings.host}"): give a host name, or an IPv4 address`);
  }
  if (/Peer aborted Association/i.test(said) && !/Association Request Failed/i.test(said) && (tool === 'storescu' || tool === 'dcmsend')) {
    return make('rejected', 'aborted by PACS', `${where} aborted the association while files were being sent to it (or the connection was lost): what it had not stored was not sent`);
  }
  if (/Peer aborted Association/i.test(said)) {
    // Orthanc, and many PACS, abort instead of answering a query or retrieve they will not serve.
    return make('rejected', 'aborted by PACS', `${where} aborted the association instead of answering: it refuses this request, often because it does not allow calling AE title "${settings.aet}" to query or retrieve: list "${settings.aet}" among its modalities`);
  }
  // storescu's "Store Failed, file: <path>:" names a file, not the cause, which follows it.
  const first = complaints.find((c) => !/^Store Failed, file: /.test(c)) ?? complaints[0] ?? `exited with code ${run.exitCode ?? 'unknown'}`;
  if (/Unexpected Response MsgId/i.test(said)) {
    return make('timeout', `timeout ${settings.timeout} s`, `${where} answered out of step (${first}): a late answer to a request already given up after ${settings.timeout} s; the association was given up`);
  }
  if (/timeout/i.test(said)) {
    return make('timeout', `timeout ${settings.timeout} s`, `no answer from ${where} within ${settings.timeout} s (${first})`);
  }
  return make('failed', 'failed', `${where}: ${first}`);
}

/** DCMTK's TLS complaints as a client, in words a PACS administrator can act on; undefined when not about TLS. */
function describeTlsFailure(said: string, settings: TlsSettings, where: string): { reason: string; message: string } | undefined {
  if (/Unable to load private TLS key/i.test(said)) {
    const password = /bad decrypt|processing error|bad password/i.test(said);
    return password
      ? { reason: 'wrong key password', message: `cannot read the private key in tlsKey (${settings.tlsKey}): the key password is wrong, or the key is password-protected and no password is set` }
      : { reason: 'bad tlsKey', message: `cannot read the private key in tlsKey (${settings.tlsKey}): ${/OpenSSL error [0-9a-f]+: (.+?)(?= [0-9a-f]{4}:[0-9a-f]{4} |$)/i.exec(said)?.[1] ?? 'not a PEM private key'}` };
  }
  if (/Private key .* and certificate .* do not match/i.test(said)) {
    return { reason: 'key/cert mismatch', message: `the private key in tlsKey (${settings.tlsKey}) does not belong to the certificate in tlsCert (${settings.tlsCert})` };
  }
  if (!settings.tls) return undefined;
  if (/certificate verify failed/i.test(said)) {
    return { reason: 'untrusted PACS cert', message: `the PACS's certificate is not signed by the CA in tlsCa (${settings.tlsCa}): no association with ${where}; give tlsCa the CA certificate that signed the PACS's certificate` };
  }
  if (/SSL_ERROR_SYSCALL|wrong version number|unexpected eof/i.test(said)) {
    return { reason: 'no TLS at PACS', message: `${where} closed the connection during the TLS handshake: it does not speak DICOM over TLS on this port (turn TLS off, or use the PACS's TLS port)` };
  }
  if (/Association Request Failed/i.test(said) && /Peer aborted Association|Connection reset by peer|TLS error|alert/i.test(said)) {
    const message = settings.tlsCert
      ? `${where} ended the TLS handshake: it did not accept our certificate (tlsCert ${settings.tlsCert}); it needs one signed by a CA it trusts`
      : `${where} ended the TLS handshake: it requires a client certificate; set tlsCert and tlsKey to a certificate signed by a CA it trusts, and its key`;
    return { reason: 'TLS refused by PACS', message };
  }
  return undefined;
}

/**
 * What storescp says when an incoming association fails ("Receiving Association failed: ..."),
 * for the receiving side's error; undefined for what is not about TLS (those are logged only).
 */
export function describeIncomingTlsFailure(line: string, settings: TlsSettings): string | undefined {
  if (!/Receiving Association failed/i.test(line)) return undefined;
  if (/certificate verify failed/i.test(line)) return `refused a sender over TLS: its certificate is not signed by the CA in tlsCa (${settings.tlsCa})`;
  if (/peer did not return a certificate/i.test(line)) return `refused a sender over TLS: it offered no certificate, and with tlsCa set only senders with a certificate from that CA are accepted`;
  if (/wrong version number|http request|unexpected eof/i.test(line)) return 'refused a sender that connected without TLS: this receiver accepts DICOM over TLS only';
  if (/alert unknown ca|alert bad certificate|alert certificate/i.test(line)) return `a sender did not trust this receiver's certificate (tlsCert ${settings.tlsCert}): give the sender the CA certificate that signed it`;
  if (/TLS error|OpenSSL/i.test(line)) return `a TLS handshake with a sender failed: ${line.replace(/^.*Receiving Association failed: /, '')}`;
  return undefined;
}

/**
 * A DIMSE operation the PACS answered with a failure status, e.g. "Failed: UnableToProcess" to a
 * C-FIND. `status` is DCMTK's text for it.
 */
export function describeFailedStatus(
  tool: DcmtkTool,
  operation: string,
  status: string,
  run: RunResult,
  settings: Pick<PacsSettings, 'aec' | 'host' | 'port'>,
): PacsError {
  const where = `${settings.aec} at ${settings.host}:${settings.port}`;
  const message = `${where} answered the ${operation} with status "${status}"`;
  return new PacsError('dicom-status', status.length > 24 ? `${status.slice(0, 23)}…` : status, `${tool}: ${message}`, {
    status: 'error',
    command: run.command,
    data: run.output.trim() || message,
  });
}
