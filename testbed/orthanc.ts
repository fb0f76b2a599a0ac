// A real Orthanc run as a plain process on loopback, for tests, the demo and benchmarks.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dyingWithParent } from './processes';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A modality in Orthanc's object form, which can say that it takes DICOM over TLS. */
export interface OrthancModality {
  AET: string;
  Host: string;
  Port: number;
  UseDicomTls?: boolean;
}

/** Orthanc's DICOM over TLS: its certificate and key, and the certificates it trusts (PEM files). */
export interface OrthancTls {
  certificate: string;
  privateKey: string;
  trusted: string;
  /** Refuse peers without a certificate from `trusted` (DicomTlsRemoteCertificateRequired). */
  remoteCertificateRequired?: boolean;
}

export interface OrthancOptions {
  aet?: string;
  /** Known peers: name -> [AE title, host, port] or the object form. Find and move are allowed only to them. */
  modalities?: Record<string, [string, string, number] | OrthancModality>;
  /** DICOM over TLS on Orthanc's DICOM port, for what it receives and what it sends. */
  tls?: OrthancTls;
  /** Character set of C-FIND answers: Latin1 (Orthanc's default) or Utf8. */
  defaultEncoding?: 'Latin1' | 'Utf8';
  /** Folder for storage and logs; a new temp folder (removed on stop) when absent. */
  dir?: string;
  httpPort?: number;
  dicomPort?: number;
  /** Load Debian's orthanc-dicomweb plugin (DICOMweb at <url>/dicom-web). */
  dicomweb?: boolean;
  /** HTTP users (name -> password): authentication on for every request, the tests' own too. */
  users?: Record<string, string>;
  /** Extra Orthanc configuration keys. */
  extra?: Record<string, unknown>;
}

export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface RunningOrthanc {
  aet: string;
  host: '127.0.0.1';
  dicomPort: number;
  httpPort: number;
  url: string;
  /** The DICOMweb service root, when the plugin is loaded. */
  dicomwebUrl?: string;
  dir: string;
  process: ChildProcess;
  /** POST /instances for each file; returns Orthanc's answers. */
  upload(files: Iterable<Buffer>, parallel?: number): Promise<number>;
  get<T = unknown>(route: string): Promise<T>;
  /** POST a JSON body; returns Orthanc's JSON answer, or throws with its HTTP status and text. */
  post<T = unknown>(route: string, body: unknown): Promise<T>;
  stop(): Promise<void>;
}

export async function startOrthanc(options: OrthancOptions = {}): Promise<RunningOrthanc> {
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'pypx-orthanc-')));
  const ownsDir = !options.dir;
  await mkdir(dir, { recursive: true });
  const httpPort = options.httpPort ?? (await freePort());
  const dicomPort = options.dicomPort ?? (await freePort());
  const aet = options.aet ?? 'ORTHANC';
  const config = {
    Name: 'pypx-test',
    StorageDirectory: path.join(dir, 'db'),
    IndexDirectory: path.join(dir, 'db'),
    Plugins: options.dicomweb ? [DICOMWEB_PLUGIN] : [],
    ...(options.dicomweb ? { DicomWeb: { Enable: true, Root: '/dicom-web/' } } : {}),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: !!options.users,
    ...(options.users ? { RegisteredUsers: options.users } : {}),
    HttpBindAddress: '127.0.0.1',
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aet,
    DicomCheckCalledAet: true,
    DicomModalities: options.modalities ?? {},
    DefaultEncoding: options.defaultEncoding ?? 'Latin1',
    StorageCompression: false,
    SaveJobs: false,
    ...(options.tls
      ? {
        DicomTlsEnabled: true,
        DicomTlsCertificate: options.tls.certificate,
        DicomTlsPrivateKey: options.tls.privateKey,
        DicomTlsTrustedCertificates: options.tls.trusted,
        DicomTlsRemoteCertificateRequired: options.tls.remoteCertificateRequired ?? true,
      }
      : {}),
    ...options.extra,
  };
  const configFile = path.join(dir, 'orthanc.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const log = openSync(path.join(dir, 'orthanc.log'), 'a');
  // Orthanc links DCMTK: without TCP_NODELAY its C-STORE and C-MOVE crawl on loopback.
  // It dies with the process that started it (a test run, the demo), even when that one is killed.
  const [file, args] = await dyingWithParent('Orthanc', [configFile]);
  const child = spawn(file, args, {
    stdio: ['ignore', log, log],
    env: { ...process.env, TCP_NODELAY: '1' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once('error', (err) => (spawnError = err));
  const url = `http://127.0.0.1:${httpPort}`;

  const [user, password] = Object.entries(options.users ?? {})[0] ?? [];
  const headers: Record<string, string> = user ? { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {};
  const get = async <T>(route: string): Promise<T> => {
    const response = await fetch(url + route, { headers });
    if (!response.ok) throw new Error(`Orthanc GET ${route}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };

  const deadline = Date.now() + 30000;
  for (;;) {
    // 127: setpriv could not find the program.
    if (spawnError?.code === 'ENOENT' || child.exitCode === 127) {
      throw new Error('Orthanc is not installed: the program "Orthanc" is not on PATH (Debian: apt-get install orthanc; scripts/system-deps.sh installs it)');
    }
    if (spawnError) throw new Error(`Orthanc cannot be started: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Orthanc exited at start (code ${child.exitCode}); see ${path.join(dir, 'orthanc.log')}`);
    }
    try {
      await get('/system');
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`Orthanc did not answer on ${url} within 30 s; see ${path.join(dir, 'orthanc.log')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    aet,
    host: '127.0.0.1',
    dicomPort,
    httpPort,
    url,
    ...(options.dicomweb ? { dicomwebUrl: `${url}/dicom-web` } : {}),
    dir,
    process: child,
    get,
    async post<T>(route: string, body: unknown): Promise<T> {
      const response = await fetch(url + route, { method: 'POST', body: JSON.stringify(body) });
      const text = await response.text();
      if (!response.ok) throw new Error(`Orthanc POST ${route}: HTTP ${response.status} ${text}`);
      return JSON.parse(text) as T;
    },
    async upload(files, parallel = 4) {
      const iterator = files[Symbol.iterator]();
      let count = 0;
      const worker = async () => {
        for (let next = iterator.next(); !next.done; next = iterator.next()) {
          const response = await fetch(`${url}/instances`, { method: 'POST', headers, body: new Uint8Array(next.value) });
          if (!response.ok) throw new Error(`Orthanc refused an upload: HTTP ${response.status} ${await response.text()}`);
          count++;
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
      return count;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
        await exited;
        clearTimeout(timer);
      }
      if (ownsDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
