// The PACS's C-MOVE responses as DCMTK prints them with -d (movescu's, and getscu's C-GET responses,
// which carry the same sub-operation counts): each response's status and counts, and DCMTK's own words.

/** One C-MOVE response as movescu -d prints it. */
export interface MoveResponse {
  status: number;
  /** DCMTK's words for the status, e.g. "Pending: Sub-operations are continuing". */
  statusText: string;
  remaining?: number;
  completed: number;
  failed: number;
  warning: number;
}

export interface MoveProgress {
  completed: number;
  failed: number;
  warning: number;
  remaining: number;
  total: number;
}

const isPending = (status: number) => status === 0xff00 || status === 0xff01;
const MAX_LOG_LINES = 100;

/** Reads movescu -d output line by line; keeps the responses and DCMTK's own (non-debug) words. */
export class MoveResponseReader {
  final?: MoveResponse;
  last?: MoveResponse;
  /** DCMTK's name for an error status, from "Move response with error status (Failed: UnableToProcess)". */
  errorStatusName?: string;
  errorComment?: string;
  /** Info, warning and error lines: pypx's `data` on failure. */
  readonly log: string[] = [];
  private counts: Partial<MoveResponse> = {};

  read(line: string): MoveResponse | undefined {
    if (!line.startsWith('D: ')) {
      // One "Received Move Response N" per instance would crowd out the lines that explain a failure.
      const keep = (/^[WEF]: /.test(line) && this.log.length < 10 * MAX_LOG_LINES) || (!/^I: Received Move Response \d/.test(line) && this.log.length < MAX_LOG_LINES);
      if (line.trim() && keep) this.log.push(line.trimEnd());
      const named = /^W: Move response with error status \((.+)\)/.exec(line);
      if (named) this.errorStatusName = named[1];
      return undefined;
    }
    const field = /^D: (Message Type|Remaining Suboperations|Completed Suboperations|Failed Suboperations|Warning Suboperations|DIMSE Status|Error Comment)\s*: (.*)$/.exec(line);
    const comment = /\(0000,0902\) LO \[(.*)\]/.exec(line);
    if (comment) this.errorComment = comment[1].trim();
    if (!field) return undefined;
    const [, name, value] = field;
    const count = () => (/^\d+$/.test(value.trim()) ? Number(value) : undefined);
    switch (name) {
      case 'Message Type':
        this.counts = {};
        return undefined;
      case 'Remaining Suboperations': this.counts.remaining = count(); return undefined;
      case 'Completed Suboperations': this.counts.completed = count(); return undefined;
      case 'Failed Suboperations': this.counts.failed = count(); return undefined;
      case 'Warning Suboperations': this.counts.warning = count(); return undefined;
      case 'Error Comment': this.errorComment = value.trim(); return undefined;
    }
    const status = /^0x([0-9a-f]{4}):?\s*(.*)$/i.exec(value.trim());
    if (!status) return undefined;
    const response: MoveResponse = {
      status: parseInt(status[1], 16),
      statusText: status[2],
      remaining: this.counts.remaining,
      completed: this.counts.completed ?? this.last?.completed ?? 0,
      failed: this.counts.failed ?? this.last?.failed ?? 0,
      warning: this.counts.warning ?? this.last?.warning ?? 0,
    };
    this.last = response;
    if (!isPending(response.status)) this.final = response;
    this.counts = {};
    return response;
  }
}

export function progressOf(response: MoveResponse): MoveProgress {
  const remaining = response.remaining ?? 0;
  return {
    completed: response.completed,
    failed: response.failed,
    warning: response.warning,
    remaining,
    total: remaining + response.completed + response.failed + response.warning,
  };
}
