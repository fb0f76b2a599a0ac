// HTTP to a DICOMweb service on undici (the fetch inside Node): timeouts, redirects, basic or bearer
// authentication, a private CA for https, retries on 5xx and failed connections, and every failure
// explained in plain words.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { Agent, type BodyInit, fetch, type Response } from 'undici';
import { failureBeforeRun, type FailureKind, PacsError } from '../errors';
import type { PacsSettings } from '../settings';
import type { DicomwebSettings } from './settings';

/** Settings of a PACS reached over DICOMweb. */
export type DicomwebPacs = PacsSettings & { dicomweb: DicomwebSettings };

export function isDicomweb(settings: PacsSettings): settings is DicomwebPacs {
  return settings.dicomweb !== undefined;
}

export interface HttpRequest {
  method?: 'GET' | 'POST';
  /** Below the service root, starting with "/": "/studies?PatientID=1". */
  path: string;
  headers?: Record<string, string>;
  /** Called again for each attempt, so a streamed body can be sent anew. */
  body?: () => AsyncIterable<Uint8Array>;
  /** What the request is for, in an error message: "the QIDO-RS query", "the study 1.2.3". */
  what: string;
  signal?: AbortSignal;
  /** Answers with these statuses come back to the caller instead of failing (STOW's 409 carries its reasons). */
  accept?: number[];
}

export interface HttpAnswer {
  response: Response;
  /** "GET <url>", for pypx's `command`. */
  command: string;
}

const agents = new Map<string, Agent>();

/** One connection pool per CA and timeout: keep-alive across requests, as a browser would. */
function agentFor(settings: DicomwebPacs): Agent {
  const ms = Math.ceil(settings.timeout * 1000);
  const key = `${settings.dicomweb.tlsCa ?? ''}\0${ms}`;
  let agent = agents.get(key);
  if (!agent) {
    const connect: Record<string, unknown> = { timeout: ms };
    if (settings.dicomweb.tlsCa) {
      let pem: Buffer;
      try {
        pem = readFileSync(settings.dicomweb.tlsCa);
      } catch (err) {
        throw failureBeforeRun('bad-input', 'CA file unreadable', `cannot read the CA certificate file tlsCa "${settings.dicomweb.tlsCa}": ${(err as Error).message}`);
      }
      connect.ca = [...tls.rootCertificates, pem.toString('utf8')];
    }
    agent = new Agent({ connect, headersTimeout: ms, bodyTimeout: ms, keepAliveTimeout: 4000 });
    agents.set(key, agent);
  }
  return agent;
}

export function authorizationHeader(settings: DicomwebSettings): string | undefined {
  if (settings.token) return `Bearer ${settings.token}`;
  if (settings.user) return `Basic ${Buffer.from(`${settings.user}:${settings.password ?? ''}`, 'utf8').toString('base64')}`;
  return undefined;
}

const RETRY_BASE_MS = 500;

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Sends one request; an answer outside 2xx (and `accept`) becomes a PacsError. 5xx answers and
 * connections that fail are tried again `retries` times, waiting 0.5 s, 1 s, 2 s ... between tries.
 */
export async function dicomwebRequest(settings: DicomwebPacs, request: HttpRequest): Promise<HttpAnswer> {
  const url = settings.dicomweb.url + request.path;
  const method = request.method ?? 'GET';
  const command = `${method} ${url}`;
  const headers: Record<string, string> = { ...request.headers };
  const authorization = authorizationHeader(settings.dicomweb);
  if (authorization) headers.authorization = authorization;
  const dispatcher = agentFor(settings);
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= settings.dicomweb.retries;
    let response: Response;
    try {
      if (request.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      const body = request.body?.();
      response = await fetch(url, {
        method,
        headers,
        dispatcher,
        redirect: 'follow',
        signal: request.signal,
        ...(body ? { body: body as BodyInit, duplex: 'half' } : {}),
      });
    } catch (err) {
      const error = describeConnectionFailure(err, settings, command, request.what);
      if (last || error.kind === 'aborted' || error.kind === 'tls' || error.kind === 'unknown-host' || error.kind === 'bad-input') throw error;
      await wait(RETRY_BASE_MS * 2 ** attempt, request.signal);
      continue;
    }
    if (response.ok || request.accept?.includes(response.status)) return { response, command };
    const detail = await answerExcerpt(response);
    if (response.status >= 500 && !last) {
      await wait(RETRY_BASE_MS * 2 ** attempt, request.signal);
      continue;
    }
    throw describeHttpStatus(response.status, response.statusText, detail, settings, command, request.what, attempt + 1);
  }
}

/** The first few hundred characters of an error answer: services explain themselves there. */
async function answerExcerpt(response: Response): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, ' ').trim();
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return '';
  }
}

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
  const error = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  const code = error.cause?.code ?? '';
  const why = error.cause?.message ?? error.message ?? String(err);
  const url = new URL(settings.dicomweb.url);
  const where = `${url.hostname}:${settings.port}`;
  if (error.name === 'AbortError' || error.cause?.name === 'AbortError') return fail('aborted', 'stopped', `stopped before ${settings.dicomweb.url} answered ${what}`, command);
  if (code === 'ECONNREFUSED') return fail('refused', 'refused', `connection refused by ${where}: no web server listens there`, command);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return fail('unknown-host', 'unknown host', `unknown host "${url.hostname}"`, command);
  if (/TIMEOUT/.test(code)) return fail('timeout', `timeout ${settings.timeout} s`, `no answer from ${settings.dicomweb.url} within ${settings.timeout} s (${what})`, command);
  if (/CERT|SELF_SIGNED|TLS|SSL|ALTNAME|UNABLE_TO_VERIFY/i.test(`${code} ${why}`)) {
    return fail('tls', 'certificate refused', `the certificate of ${where} is not trusted (${why}): give the CA that signed it as tlsCa`, command);
  }
  if (/redirect/i.test(why)) return fail('failed', 'redirect loop', `${settings.dicomweb.url} redirected too many times (${what})`, command);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    return fail('failed', 'connection lost', `${where} closed the connection during ${what} (${why})`, command);
  }
  return fail('failed', 'no answer', `no answer from ${settings.dicomweb.url} to ${what}: ${why}`, command);
}
