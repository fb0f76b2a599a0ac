// msg.parts for the messages that answer one input in several parts (a px-find result, an array).
import type { NodeMessageInFlow } from 'node-red';

export interface Sequence {
  id: string;
  count: number;
}

/**
 * Part `index` of a sequence: type 'array' makes a join node in automatic mode gather the payloads
 * into an array, in input order; the input's own parts are kept inside, as split nodes do.
 */
export function partOf(msg: NodeMessageInFlow, sequence: Sequence, index: number): NodeMessageInFlow['parts'] {
  return { id: sequence.id, index, count: sequence.count, type: 'array', len: 1, ...(msg.parts ? { parts: msg.parts } : {}) } as NodeMessageInFlow['parts'];
}
