// The node contract, kept in one place for every px node with an input (README's contract table):
// - every input gets exactly one answer per operation on the results output, payload.status
//   'success' or 'error';
// - a failure also reaches Catch nodes, once, through done(err) with the input msg (never node.error);
// - the answer is the input msg itself, or copies of it when one input gives several messages, so
//   topic, req/res, the _msgid chain and anything a user put on it travel on every message;
// - another node's failed result given as input is refused, naming it, and nothing runs;
// - the status follows AnswerStatus's rule.
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import { failureBeforeRun, isPlainObject, PacsError, toPacsError } from '../lib';
import { handleClose, RunningOperations, type DoneFn, type SendFn } from './glue';
import type { Say } from './i18n';
import type { AnswerStatus } from './status';

/** One input, as a node's handler sees it. */
export interface Input {
  readonly msg: NodeMessageInFlow;
  /** A copy of the input without payload and parts, for one of several messages answering it. */
  copy(): NodeMessageInFlow;
  /** Sends an answer on the results output; an array goes as one sequence (px-find's split). */
  answer(message: NodeMessageInFlow | NodeMessageInFlow[]): void;
  /** Sends a message on another output (px-get's per-instance output). */
  emit(port: number, message: NodeMessageInFlow): void;
  /** Runs an operation that the node's close stops. */
  run<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** True once the node is closing: what ends now is not answered. */
  readonly closing: boolean;
}

/** How an input ended, once the handler has answered it. */
export interface Answered {
  /** Adds to the running total in the status: instances moved, matches found, echoes... */
  count: number;
  /** The failure that goes to Catch nodes, if any. */
  failure?: Error;
  /** The status's short reason for the failure, when it is not the failure's own. */
  reason?: string;
}

export interface InputOptions {
  say: Say;
  status: AnswerStatus;
  /** The node's number of outputs and the one (0-based) that carries results. */
  outputs?: number;
  resultsPort?: number;
  /** What a failure before any answer puts in msg.payload: pypx's error result unless the node adds counts. */
  failurePayload?: (error: PacsError) => unknown;
  /** What to say when the flow stops while operations run. */
  stopWarning?: (running: number) => string;
  onClose?: () => void;
  /** Runs on each input before anything else, even the refusal of a failed result (px-deidentify takes what identifies off it). */
  prepareInput?: (msg: NodeMessageInFlow) => void;
}

/** The DCMTK tool that starts a pypx command, and the node that runs it. */
const NODE_OF_TOOL: Record<string, string> = {
  echoscu: 'px-echo', findscu: 'px-find', movescu: 'px-move', getscu: 'px-get', storescu: 'px-send', dcmsend: 'px-send', storescp: 'px-listen',
};

function firstLine(text: string, max = 300): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** Why a failed result failed, in one line: a Catch node's error message, its data, or its first failed file. */
function reasonOfFailedResult(msg: NodeMessageInFlow, payload: Record<string, unknown>): string {
  const caughtMessage = (msg.error as { message?: unknown } | undefined)?.message;
  if (typeof caughtMessage === 'string' && caughtMessage.trim()) return firstLine(caughtMessage);
  const { data } = payload;
  if (typeof data === 'string' && data.trim()) return firstLine(data);
  const first: unknown = Array.isArray(data) ? data[0] : undefined;
  if (isPlainObject(first) && typeof first.reason === 'string') return firstLine(`${String(first.file ?? '')}: ${first.reason}`);
  return 'no reason given';
}

/**
 * Another node's failed result given as input (px-find's failure wired into px-move): refused, naming
 * the node that failed (a Catch node's msg.error.source, else the tool its command ran) and why.
 */
export function refusalOfFailedInput(msg: NodeMessageInFlow, say: Say): PacsError | undefined {
  const { payload } = msg;
  if (!isPlainObject(payload) || payload.status !== 'error') return undefined;
  const caughtFrom = (msg.error as { source?: { type?: unknown } } | undefined)?.source?.type;
  const tool = typeof payload.command === 'string' ? (payload.command.trim().split(/\s/)[0] ?? '').split('/').pop() ?? '' : '';
  const source = typeof caughtFrom === 'string' && caughtFrom ? caughtFrom : NODE_OF_TOOL[tool];
  const what = source ? say('errors.failedResultOf', { node: source }) : say('errors.failedResult');
  return failureBeforeRun('bad-input', say('status.failedInput'), say('errors.failedInput', { what, why: reasonOfFailedResult(msg, payload) }));
}

/**
 * Registers the node's input handler under the contract. The handler answers through `input.answer`
 * and returns how the input ended; anything it throws before answering is answered as a failure.
 * Also registers close: stops what runs, then clears the status.
 */
export function answerInputs(RED: NodeAPI, node: Node, options: InputOptions, handler: (input: Input) => Promise<Answered>): void {
  const { say, status, outputs = 1, resultsPort = 0 } = options;
  const operations = new RunningOperations();
  let closing = false;

  const onPort = (send: SendFn, port: number, message: NodeMessageInFlow | NodeMessageInFlow[]) => {
    if (outputs === 1) return send(Array.isArray(message) ? [message] : message);
    const ports: Array<NodeMessageInFlow | NodeMessageInFlow[] | null> = Array(outputs).fill(null);
    ports[port] = message;
    send(ports);
  };

  async function answerOne(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): Promise<void> {
    let answers = 0;
    const input: Input = {
      msg,
      copy: () => {
        const { payload: _payload, parts: _parts, ...rest } = msg;
        return RED.util.cloneMessage(rest as NodeMessageInFlow);
      },
      answer: (message) => {
        if (closing) return;
        answers += Array.isArray(message) ? message.length : 1;
        onPort(send, resultsPort, message);
      },
      emit: (port, message) => {
        if (!closing) onPort(send, port, message);
      },
      run: (operation) => operations.run(operation),
      get closing() {
        return closing;
      },
    };
    status.begin();
    try {
      options.prepareInput?.(msg);
      const refusal = refusalOfFailedInput(msg, say);
      if (refusal) throw refusal;
      const { count, failure, reason } = await handler(input);
      if (closing) return done();
      if (!answers) throw new Error(`${node.type} finished an input without answering it`);
      status.end(count, failure && (reason ?? (failure instanceof PacsError ? failure.reason : say('status.internalError'))));
      done(failure);
    } catch (err) {
      if (closing) return done();
      const known = asPacsError(err);
      const error = known ?? failureBeforeRun('failed', say('status.internalError'), `${node.type}: internal error: ${err instanceof Error ? err.message : String(err)}`);
      status.end(0, error.reason);
      if (!answers) {
        msg.payload = options.failurePayload ? options.failurePayload(error) : error.result;
        input.answer(msg);
      }
      // A bug keeps its stack for the log; what lib explains goes as it is.
      done(known ?? (err instanceof Error ? err : error));
    }
  }

  node.on('input', (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
    // Last resort: a rejected promise in an input handler would take the whole runtime down.
    answerOne(msg, send, done).catch((bug: unknown) => done(bug instanceof Error ? bug : new Error(String(bug))));
  });
  handleClose(node, async () => {
    closing = true;
    options.onClose?.();
    if (operations.size && options.stopWarning) node.warn(options.stopWarning(operations.size));
    try {
      await operations.stopAll();
    } finally {
      status.light.clear();
    }
  });
}

/** A failure lib explains (bad settings, a refused association...) as a PacsError; undefined for a bug. */
function asPacsError(err: unknown): PacsError | undefined {
  try {
    return toPacsError(err);
  } catch {
    return undefined;
  }
}
