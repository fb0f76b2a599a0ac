// A TCP proxy on loopback between senders and a receiver, for transfers a test cuts short at a point of
// its own choosing rather than by how fast this machine sends: it forwards a known number of bytes from
// the senders, then forwards nothing more (the senders wait for answers that cannot come), and the
// answers flow back unhindered. When the receiver's side of a connection ends, so does the sender's.
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface TcpProxy {
  /** Where the senders connect. */
  port: number;
  /** Bytes forwarded from the senders so far (all connections together). */
  forwarded(): number;
  /** Whether the byte budget is spent: no more bytes from any sender reach the receiver. */
  holding(): boolean;
  stop(): Promise<void>;
}

/**
 * Forwards connections on a free port to `targetPort`, and from all senders together at most
 * `holdAfterBytes` bytes (unlimited when absent).
 */
export async function startTcpProxy(targetPort: number, { holdAfterBytes = Infinity }: { holdAfterBytes?: number } = {}): Promise<TcpProxy> {
  let forwarded = 0;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server = net.createServer((client) => {
    track(client);
    client.pause();
    const upstream = net.connect(targetPort, '127.0.0.1', () => client.resume());
    track(upstream);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    upstream.pipe(client);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk: Buffer) => {
      const allowed = Math.max(0, Math.min(chunk.length, holdAfterBytes - forwarded));
      forwarded += allowed;
      if (allowed) upstream.write(allowed === chunk.length ? chunk : chunk.subarray(0, allowed));
      // What is over the budget is dropped, and nothing more is read: the sender waits.
      if (forwarded >= holdAfterBytes) client.pause();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    forwarded: () => forwarded,
    holding: () => forwarded >= holdAfterBytes,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The bytes of every file under these folders: what senders of them put on the wire, give or take the protocol. */
export function bytesUnder(...folders: string[]): number {
  let total = 0;
  for (const folder of folders) {
    for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size;
    }
  }
  return total;
}
