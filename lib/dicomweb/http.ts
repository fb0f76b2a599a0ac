// HTTP to a DICOMweb service on Node's own http/https: timeouts, redirects, basic or bearer
// authentication, a private CA for https, retries on 5xx and failed connections, and every failure
// explained in plain words. Not undici's fetch: undici 7 (the last for Node 20) crashes the process
// with an uncatchable assertion when a server closes the connection while a body waits under
// backpressure (nodejs/undici#5360, fixed in undici 8 only), which is exactly how a WADO-RS answer is
// streamed to a slower disk. node:http applies backpressure at the socket and has no such fault.
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { pause, retryDelay } from '../core/backoff';
import { failureBeforeRun } from '../core/errors';
import type { DicomwebPacs } from '../core/settings';
import type { DicomwebSettings } from '../core/dicomweb-settings';
import { describeConnectionFailure, describeHttpStatus } from './failures';

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
  /** Tries after a 5xx or a failed connection; the settings' retries when absent. */
  retries?: number;
  /** First wait before trying again, doubled each time; 1 s when absent, as px-send's. */
  retryDelayMs?: number;
}

export interface HttpAnswer {
  status: number;
  /** A response header, lower-case name. */
  header(name: string): string | undefined;
  /** The body as it arrives; reading it slowly slows the sender (TCP backpressure). */
  body: IncomingMessage;
  /** The whole body as UTF-8 text: for JSON answers, never for instances. */
  text(): Promise<string>;
  /** "GET <url>", for pypx's `command`. */
  command: string;
}

const agents = new Map<string, http.Agent>();

/** One keep-alive connection pool per scheme and CA, as a browser would keep. */
function agentFor(settings: DicomwebPacs, secure: boolean): http.Agent {
  const tlsCa = settings.dicomweb.tlsCa ?? '';
  const key = `${secure}\0${tlsCa}`;
  let agent = agents.get(key);
  if (!agent) {
    if (!secure) agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 4000 });
    else {
      let ca: string[] | undefined;
      if (tlsCa) {
        try {
          ca = [...tls.rootCertificates, readFileSync(tlsCa, 'utf8')];
        } catch (err) {
          throw failureBeforeRun('bad-input', 'CA file unreadable', `cannot read the CA certificate file tlsCa "${tlsCa}": ${(err as Error).message}`);
        }
      }
      agent = new https.Agent({ keepAlive: true, keepAliveMsecs: 4000, ...(ca ? { ca } : {}) });
    }
    agents.set(key, agent);
  }
  return agent;
}

export function authorizationHeader(settings: DicomwebSettings): string | undefined {
  if (settings.token) return `Bearer ${settings.token}`;
  if (settings.user) return `Basic ${Buffer.from(`${settings.user}:${settings.password ?? ''}`, 'utf8').toString('base64')}`;
  return undefined;
}

const MAX_REDIRECTS = 5;
/** A JSON answer larger than this is refused rather than read into memory. */
const MAX_TEXT_BYTES = 512 * 1024 * 1024;


class IdleTimeout extends Error {
  readonly code = 'PYPX_IDLE_TIMEOUT';
}

/** One exchange: the request (its body streamed with backpressure) and the response's head. */
function exchange(url: URL, method: string, headers: Record<string, string>, body: AsyncIterable<Uint8Array> | undefined, agent: http.Agent, timeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent, signal });
    // Bounds the connection and every wait for data, the response body's included.
    request.setTimeout(timeoutMs, () => request.destroy(new IdleTimeout(`no data for ${timeoutMs} ms`)));
    // Errors after the response has come (a timeout, a reset) reach whoever reads the body; these
    // listeners only keep an error nobody waits for from becoming an uncaught exception.
    request.on('error', (err) => reject(err));
    request.once('response', (response) => {
      response.on('error', () => undefined);
      resolve(response);
    });
    if (!body) return void request.end();
    const source = Readable.from(body, { objectMode: false });
    source.once('error', (err) => request.destroy(err));
    source.pipe(request);
  });
}

function readText(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_TEXT_BYTES) return void response.destroy(new Error(`the answer is larger than ${MAX_TEXT_BYTES / 1024 / 1024} MB`));
      chunks.push(chunk);
    });
    response.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.once('error', reject);
    response.once('aborted', () => reject(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' })));
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Follows redirects; credentials go only to the service's own scheme, host and port. */
async function follow(settings: DicomwebPacs, request: HttpRequest, url: URL, headers: Record<string, string>): Promise<{ response: IncomingMessage; url: URL }> {
  const origin = url.origin;
  let method = request.method ?? 'GET';
  let body = request.body;
  for (let hops = 0; ; hops++) {
    const sent = { ...headers };
    if (url.origin !== origin) delete sent.authorization;
    if (!body) delete sent['content-length'];
    const response = await exchange(url, method, sent, body?.(), agentFor(settings, url.protocol === 'https:'), Math.ceil(settings.timeout * 1000), request.signal);
    const location = response.headers.location;
    if (!REDIRECTS.has(response.statusCode ?? 0) || !location) return { response, url };
    response.resume();
    if (hops >= MAX_REDIRECTS) throw Object.assign(new Error(`more than ${MAX_REDIRECTS} redirects`), { code: 'PYPX_REDIRECTS' });
    url = new URL(location, url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw Object.assign(new Error(`a redirect to ${url.protocol}`), { code: 'PYPX_REDIRECTS' });
    if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
    }
  }
}

/**
 * Sends one request; an answer outside 2xx (and `accept`) becomes a PacsError. 5xx answers and
 * connections that fail are tried again `retries` times, waiting 1 s, 2 s, 4 s ... (at most 30 s)
 * between tries, as px-send does over DIMSE.
 */
export async function dicomwebRequest(settings: DicomwebPacs, request: HttpRequest): Promise<HttpAnswer> {
  const url = new URL(settings.dicomweb.url + request.path);
  const method = request.method ?? 'GET';
  const command = `${method} ${url.href}`;
  const headers: Record<string, string> = { ...request.headers };
  const authorization = authorizationHeader(settings.dicomweb);
  if (authorization) headers.authorization = authorization;
  const retries = request.retries ?? settings.dicomweb.retries;
  const waitAfter = (attempt: number) => pause(retryDelay(attempt, request.retryDelayMs), request.signal);
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= retries;
    let response: IncomingMessage;
    try {
      if (request.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      ({ response } = await follow(settings, request, url, headers));
    } catch (err) {
      const error = describeConnectionFailure(err, settings, command, request.what);
      if (last || ['aborted', 'tls', 'unknown-host', 'bad-input', 'timeout'].includes(error.kind) || /redirect/.test(error.reason)) throw error;
      await waitAfter(attempt);
      continue;
    }
    const status = response.statusCode ?? 0;
    if ((status >= 200 && status < 300) || request.accept?.includes(status)) {
      return {
        status,
        header: (name) => {
          const value = response.headers[name.toLowerCase()];
          return Array.isArray(value) ? value.join(', ') : value;
        },
        body: response,
        // A body cut short (connection dropped, idle timeout) fails as a connection does.
        text: () => readText(response).catch((err: unknown) => {
          throw describeConnectionFailure(err, settings, command, request.what);
        }),
        command,
      };
    }
    const detail = await answerExcerpt(response);
    if (status >= 500 && !last) {
      await waitAfter(attempt);
      continue;
    }
    throw describeHttpStatus(status, response.statusMessage ?? '', detail, settings, command, request.what, attempt + 1);
  }
}

/** The first few hundred characters of an error answer: services explain themselves there. */
async function answerExcerpt(response: IncomingMessage): Promise<string> {
  try {
    const text = (await readText(response)).replace(/\s+/g, ' ').trim();
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return '';
  }
}
