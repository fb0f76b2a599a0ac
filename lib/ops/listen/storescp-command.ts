// How storescp is run: its arguments, its log configuration, and the two programs it runs under so
// that it cannot outlive the process that started it.
import type { ResolvedListenerOptions } from './options';
import { buildTlsArgs } from '../../dcmtk/tls';

export const LOG_CONFIG = '.px-listen-log.cfg';

/**
 * storescp's log: INFO and above, less "Received Store Request" (the next "storing" line or the
 * association's end says as well that a file is written), plus dcmnet's DEBUG words, which are per
 * association only: among them the start of each A-ASSOCIATE-RQ in hex, whose bytes 10-25 are the
 * called AE title. (dcmnet's TRACE would name it in words, but also dumps every DIMSE command: ~40
 * lines per instance, formatted by each storescp child and thrown away.) Each line starts with the
 * process id and the logger, as "<pid> <level> <logger>: <message>".
 */
export const LOG_CONFIG_TEXT = `log4cplus.rootLogger = INFO, console
log4cplus.logger.dcmtk.dcmnet = DEBUG, dcmnet
log4cplus.additivity.dcmtk.dcmnet = false
log4cplus.logger.dcmtk.apps.storescp.progress = WARN
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.logToStderr = false
log4cplus.appender.console.ImmediateFlush = true
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %i %P %c: %m%n
log4cplus.appender.console.filters.1 = log4cplus::spi::StringMatchFilter
log4cplus.appender.console.filters.1.StringToMatch = Received Store Request
log4cplus.appender.console.filters.1.AcceptOnMatch = false
log4cplus.appender.console.filters.2 = log4cplus::spi::LogLevelRangeFilter
log4cplus.appender.console.filters.2.LogLevelMin = INFO
log4cplus.appender.console.filters.2.LogLevelMax = FATAL
log4cplus.appender.console.filters.2.AcceptOnMatch = true
log4cplus.appender.dcmnet = log4cplus::ConsoleAppender
log4cplus.appender.dcmnet.logToStderr = false
log4cplus.appender.dcmnet.ImmediateFlush = true
log4cplus.appender.dcmnet.layout = log4cplus::PatternLayout
log4cplus.appender.dcmnet.layout.ConversionPattern = %i %P %c: %m%n
`;

export function buildStorescpArgs(options: ResolvedListenerOptions, logConfig: string): string[] {
  // +uf: unique names, so that the same instance arriving twice never shares a file being written.
  return ['--fork', '-dhl', '+xa', '-pm', '+uf', ...buildTlsArgs(options, 'scp'), '-aet', options.aet, '-lc', logConfig, '-od', options.tmpDir, String(options.port)];
}

/**
 * What storescp runs under, after setpriv (dcmtk/processes.ts, with TERM): setpriv gives `timeout` a TERM when
 * its parent (this process) dies, however it dies; coreutils' `timeout` (here with no time limit) leads the
 * process group and passes that TERM on to the whole group, storescp and every child it forked for an
 * association, with a KILL one second later. (A parent-death signal on storescp itself would not reach
 * the children it forks: fork clears it.) Both are part of every Linux system these packages install on.
 */
export const GROUP_REAPER = ['timeout', '--kill-after=1', '0'];
