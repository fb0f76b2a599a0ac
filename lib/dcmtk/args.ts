// What every DCMTK client call ends with (timeouts, AE titles, host and port) and how long one may run.
import type { PacsSettings } from '../core/settings';

/** The arguments that end every pypx command line: `-aec <aec> -aet <aet> <host> <port>`. */
export function buildAssociationArgs(settings: PacsSettings): string[] {
  return ['-aec', settings.aec, '-aet', settings.aet, settings.host, String(settings.port)];
}

/** DCMTK's connection (-to), ACSE (-ta) and DIMSE (-td) timeouts, all set to the configured seconds. */
export function buildTimeoutArgs(settings: PacsSettings): string[] {
  const seconds = String(Math.max(1, Math.ceil(settings.timeout)));
  return ['--timeout', seconds, '--acse-timeout', seconds, '--dimse-timeout', seconds];
}

/** Grace beyond DCMTK's own timeouts before the process is killed outright. */
export function processDeadlineMs(settings: PacsSettings): number {
  return settings.timeout * 1000 + 2000;
}

/** How long a find or move may print nothing before it counts as hung: DCMTK's own timeouts fire first. */
export function idleDeadlineMs(settings: PacsSettings): number {
  return settings.timeout * 1000 + 5000;
}
