// DICOM over TLS with DCMTK's +tls options: the one argument builder for every DCMTK tool that speaks
// TLS, as a client (echoscu, findscu, storescu) or as storescp, and the tools that have none.
import { KnownProblem } from '../core/errors';
import type { TlsRole, TlsSettings } from '../core/tls';

/** DCMTK 3.6.7 tools that have no TLS at all. */
export type ToolWithoutTls = 'movescu' | 'getscu';

/** A C-MOVE or C-GET asked of a config with TLS on: refused before anything is sent in clear. */
export class TlsUnsupportedError extends KnownProblem {
  readonly operation: 'C-MOVE' | 'C-GET';
  constructor(readonly tool: ToolWithoutTls) {
    const operation = tool === 'movescu' ? 'C-MOVE' : 'C-GET';
    super('tls', `no ${operation} over TLS`, `${tool}: DICOM over TLS is on for this PACS, and DCMTK's ${tool} has no TLS: the ${operation} was not sent, so nothing went to the PACS in clear. `
      + `If the PACS also accepts plain DICOM (often on another port), use a px-pacs config (or settings) without TLS for ${operation}`);
    this.name = 'TlsUnsupportedError';
    this.operation = operation;
  }
}

/** Throws TlsUnsupportedError when a tool without TLS would talk to a PACS configured for TLS. */
export function refuseTlsFor(tool: ToolWithoutTls, settings: TlsSettings): void {
  if (settings.tls) throw new TlsUnsupportedError(tool);
}

/**
 * DCMTK's TLS arguments. A client presents its certificate when it has one (`+tls key cert`), else
 * connects anonymously (`+tla`), and always verifies the peer against tlsCa. storescp presents its
 * certificate and, with tlsCa, accepts only senders whose certificate that CA signed.
 * The key's password is never an argument: `+ps` makes DCMTK read it from standard input
 * (see tlsKeyInput), `-pw` makes an unexpected password prompt fail at once instead of waiting.
 */
export function buildTlsArgs(settings: TlsSettings, role: TlsRole): string[] {
  if (!settings.tls) return [];
  const args: string[] = [];
  if (settings.tlsKey && settings.tlsCert) {
    args.push('+tls', settings.tlsKey, settings.tlsCert, settings.tlsKeyPassword ? '+ps' : '-pw');
  } else if (role === 'scu') {
    args.push('+tla');
  }
  if (settings.tlsCa) args.push('+cf', settings.tlsCa, '--require-peer-cert');
  else if (role === 'scp') args.push('--ignore-peer-cert');
  return args;
}

/** What to write to the DCMTK tool's standard input: the key's password, or nothing. */
export function tlsKeyInput(settings: TlsSettings): string | undefined {
  return settings.tls && settings.tlsKey && settings.tlsKeyPassword ? `${settings.tlsKeyPassword}\n` : undefined;
}
