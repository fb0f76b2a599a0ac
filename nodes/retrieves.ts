// px-move and px-get: one operation per study, series or instance an input names. One answer per
// retrieve, with msg.parts when the input was a list (so a join completes, failures included), and
// one failure for Catch nodes per input, summing up the retrieves that failed.
import type { NodeAPI, NodeMessageInFlow } from 'node-red';
import { failureBeforeRun, isMoveCollection, PacsError, parseMoveRequests, type MoveRequest } from '../lib';
import type { Answered, Input } from './contract';
import type { Say } from './i18n';
import { partOf } from './sequence';

/** What px-move's and px-get's operations have in common. */
export interface RetrieveOutcome {
  completed: number;
  error?: PacsError;
}

export interface EachRetrieve<O extends RetrieveOutcome> {
  run(request: MoveRequest, signal: AbortSignal): Promise<O>;
  /** Fills an answer: from the outcome, or for an input that names nothing to retrieve (outcome undefined). */
  fill(answer: NodeMessageInFlow, outcome: O | undefined): void;
}

const MESSAGES_IN_SUMMARY = 3;

/** The one error Catch nodes get for an input whose retrieves partly failed. */
function summaryOf(failures: PacsError[], count: number, say: Say): PacsError {
  const shown = failures.slice(0, MESSAGES_IN_SUMMARY).map((e) => e.message);
  if (failures.length > shown.length) shown.push(say('errors.andMore', { count: failures.length - shown.length }));
  const message = say('errors.someFailed', { failed: failures.length, count, messages: shown.join('; ') });
  return failureBeforeRun('failed', say('status.someFailed', { failed: failures.length, count }), message);
}

export async function answerEachRetrieve<O extends RetrieveOutcome>(RED: NodeAPI, input: Input, say: Say, each: EachRetrieve<O>): Promise<Answered> {
  const requests = parseMoveRequests(input.msg.payload);
  const isSequence = isMoveCollection(input.msg.payload) || requests.length > 1;
  const sequence = isSequence ? { id: RED.util.generateId(), count: Math.max(1, requests.length) } : undefined;
  const answerAt = (index: number): NodeMessageInFlow => {
    if (!sequence) return input.msg;
    return Object.assign(input.copy(), { parts: partOf(input.msg, sequence, index) });
  };
  if (!requests.length) {
    // An empty list or a find with no match: one success, a sequence of one, so a join or an http response still completes.
    const answer = answerAt(0);
    each.fill(answer, undefined);
    input.answer(answer);
    return { count: 0 };
  }
  const outcomes = await Promise.all(
    requests.map(async (request, index) => {
      const outcome = await input.run((signal) => each.run(request, signal));
      const answer = answerAt(index);
      each.fill(answer, outcome);
      input.answer(answer);
      return outcome;
    }),
  );
  const count = outcomes.reduce((sum, o) => sum + o.completed, 0);
  const failures = outcomes.map((o) => o.error).filter((e): e is PacsError => e !== undefined);
  if (!failures.length) return { count };
  return { count, failure: outcomes.length === 1 ? failures[0] : summaryOf(failures, outcomes.length, say) };
}
