import net from 'node:net';
import { type OrthancOptions, type RunningOrthanc, startOrthanc } from '../../testbed/orthanc';
import { until } from './until';

/** Starts one Orthanc for the enclosing describe block and stops it afterwards. */
export function useOrthanc(options: OrthancOptions = {}): () => RunningOrthanc {
  let orthanc: RunningOrthanc | undefined;
  before(async function () {
    this.timeout(60000);
    orthanc = await startOrthanc(options);
  });
  after(async () => {
    await orthanc?.stop();
  });
  return () => {
    if (!orthanc) throw new Error('Orthanc has not started');
    return orthanc;
  };
}

/** A TCP server that accepts connections and never says a word: a hung PACS. */
export async function startSilentServer(): Promise<{ port: number; connections(): number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Connections accepted so far. */
    connections: () => connections,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts TCP connections on this port of 127.0.0.1 (the connection is closed at once). */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Waits until `server` accepts connections on `port`; fails at once when it has exited. */
export async function untilListening(server: string, port: number, exited: () => boolean, timeoutMs = 10000): Promise<void> {
  await until(`${server} listens on port ${port}`, async () => {
    if (exited()) throw new Error(`${server} exited before it listened on port ${port}`);
    return acceptsConnections(port);
  }, { timeoutMs });
}
