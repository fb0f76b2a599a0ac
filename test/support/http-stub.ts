// A small HTTP(S) server on loopback whose answers a test writes: for what a real DICOMweb service
// cannot be made to do on demand (fail with 503, redirect, cut an answer short, show a private CA).
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';

export type StubHandler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

export interface HttpStub {
  url: string;
  /** Requests received, in order: method, path and Authorization header. */
  requests: Array<{ method: string; path: string; authorization?: string }>;
  stop(): Promise<void>;
}

export async function startHttpStub(handler: StubHandler, tls?: { key: string | Buffer; cert: string | Buffer }): Promise<HttpStub> {
  const requests: HttpStub['requests'] = [];
  const sockets = new Set<net.Socket>();
  const listener = (request: http.IncomingMessage, response: http.ServerResponse) => {
    requests.push({ method: request.method ?? '', path: request.url ?? '', authorization: request.headers.authorization });
    handler(request, response);
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
