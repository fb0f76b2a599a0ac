// Sending instances with a real storescu, and reading back which ones it was told were stored.
import { execFile } from 'node:child_process';
import net from 'node:net';

export interface SendResult {
  exitCode: number | null;
  /** Files storescu sent and got a Success response for. */
  stored: string[];
  output: string;
}

/** storescu +sd <dir> (or files) to 127.0.0.1:port, TCP_NODELAY=1; never rejects. */
export function storescu(port: number, inputs: string[], { aec = 'NODERED', aet = 'SENDER' } = {}): Promise<SendResult> {
  return new Promise((resolve) => {
    execFile('storescu', ['-v', '-aec', aec, '-aet', aet, '+sd', '127.0.0.1', String(port), ...inputs],
      { env: { ...process.env, TCP_NODELAY: '1' }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        const stored: string[] = [];
        let current: string | undefined;
        for (const line of output.split('\n')) {
          const sending = /^I: Sending file: (.+)$/.exec(line);
          if (sending) current = sending[1];
          else if (/^I: Received Store Response \(Success\)/.test(line) && current) stored.push(current);
        }
        const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? 1 : 0;
        resolve({ exitCode: code, stored, output });
      });
  });
}

/** A free TCP port on this machine. */
export async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
