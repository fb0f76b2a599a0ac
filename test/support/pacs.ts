import net from 'node:net';
import { type OrthancOptions, type RunningOrthanc, startOrthanc } from '../../testbed/orthanc';

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
export async function startSilentServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
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
