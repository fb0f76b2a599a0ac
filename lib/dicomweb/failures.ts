// A DICOMweb request that failed, in the words a PACS administrator uses: an HTTP status that is not
// success, or no HTTP answer at all.
import { type FailureKind, PacsError } from '../core/errors';
import type { DicomwebPacs } from '../core/settings';

function fail(kind: FailureKind, reason: string, message: string, command: string, detail = ''): PacsError {
  return new PacsError(kind, reason, `DICOMweb: ${message}`, { status: 'error', command, data: detail ? `${message}\n${detail}` : message });
}

/** An HTTP status that is not success, in the words a PACS administrator uses. */
export function describeHttpStatus(
  status: number,
  statusText: string,
  detail: string,
  settings: DicomwebPacs,
  command: string,
  what: string,
  attempts = 1,
): PacsError {
  const service = settings.dicomweb.url;
  const http = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  const credentials = settings.dicomweb.token ? 'the token' : settings.dicomweb.user ? `user "${settings.dicomweb.user}" and its password` : undefined;
  if (status === 401) {
    return fail('unauthorized', 'not authorized', credentials
      ? `${service} refused ${credentials} (${http}): check the credentials in the PACS config`
      : `${service} asks for credentials (${http}): set a user and password, or a token, in the PACS config`, command, detail);
  }
  if (status === 403) {
    return fail('unauthorized', 'forbidden', `${service} knows ${credentials ?? 'this client'} but does not allow ${what} (${http})`, command, detail);
  }
  if (status === 404) {
    return fail('not-found', 'not found', `${service} found nothing for ${what} (${http}): check the service root URL (often ending in /dicom-web) and the UIDs`, command, detail);
  }
  if (status === 413) {
    return fail('too-large', 'too large', `${service} refused ${what} as too large (${http}): send smaller batches`, command, detail);
  }
  if (status >= 500) {
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    return fail('server-error', `server error ${status}`, `${service} failed to serve ${what}: ${http}${tries}, a fault on the server's side`, command, detail);
  }
  return fail('failed', `HTTP ${status}`, `${service} refused ${what}: ${http}`, command, detail);
}

/** A request that got no HTTP answer at all. */
export function describeConnectionFailure(err: unknown, settings: DicomwebPacs, command: string, what: string): PacsError {
  if (err instanceof PacsError) return err;
  const error = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  const code = error.code ?? error.cause?.code ?? '';
  const why = error.cause?.message ?? error.message ?? String(err);
  const url = new URL(settings.dicomweb.url);
  const where = `${url.hostname}:${settings.port}`;
  if (error.name === 'AbortError' || error.cause?.name === 'AbortError') return fail('aborted', 'stopped', `stopped before ${settings.dicomweb.url} answered ${what}`, command);
  if (code === 'ECONNREFUSED') return fail('refused', 'refused', `connection refused by ${where}: no web server listens there`, command);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return fail('unknown-host', 'unknown host', `unknown host "${url.hostname}"`, command);
  if (/TIMEOUT/.test(code) || /TIMEOUT/.test((err as { code?: string }).code ?? '')) return fail('timeout', `timeout ${settings.timeout} s`, `no answer from ${settings.dicomweb.url} within ${settings.timeout} s (${what})`, command);
  if (/CERT|SELF_SIGNED|TLS|SSL|ALTNAME|UNABLE_TO_VERIFY/i.test(`${code} ${why}`)) {
    return fail('tls', 'certificate refused', `the certificate of ${where} is not trusted (${why}): give the CA that signed it as tlsCa`, command);
  }
  if ((err as { code?: string }).code === 'PYPX_REDIRECTS') return fail('failed', 'bad redirect', `${settings.dicomweb.url} answered ${what} with ${why}`, command);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    return fail('failed', 'connection lost', `${where} closed the connection during ${what} (${why})`, command);
  }
  return fail('failed', 'no answer', `no answer from ${settings.dicomweb.url} to ${what}: ${why}`, command);
}
