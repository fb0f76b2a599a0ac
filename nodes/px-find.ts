import type { Node, NodeAPI, NodeDef } from 'node-red';
import { buildFindQuery, describeType, failureBeforeRun, isPlainObject, QueryError, runFind, sweepStaleFindAnswers } from '../lib';
import { answerInputs } from './contract';
import { findPacsConfig, settingsForMessage } from './glue';
import { catalog } from './i18n';
import { partOf } from './sequence';
import { AnswerStatus, StatusLight } from './status';

interface PxFindDef extends NodeDef {
  pacs: string;
  level: string;
  /** JSON text of an object: the default query keys. */
  query: string;
  /** Keywords separated by commas or spaces; empty means the level's default set. */
  returnTags: string | string[];
  split: boolean;
  limit: string | number;
}

/** The node's query merged with msg.payload. A payload that only triggers (inject's timestamp, empty) adds nothing. */
function queryForMessage(base: Record<string, unknown>, payload: unknown): Record<string, unknown> {
  if (payload === undefined || payload === null || payload === '' || typeof payload === 'number') return base;
  if (!isPlainObject(payload)) {
    throw failureBeforeRun('bad-input', 'bad query', `msg.payload must be an object of DICOM keywords to values, e.g. {"PatientID": "32124"}, not ${describeType(payload)}`);
  }
  return { ...base, ...payload };
}

/** The node's own query: an object, or the text of what is wrong with it. */
function parseNodeQuery(text: string | undefined): Record<string, unknown> | string {
  try {
    const parsed: unknown = text && text.trim() ? JSON.parse(text) : {};
    return isPlainObject(parsed) ? parsed : `the node's query must be a JSON object, not ${describeType(parsed)}`;
  } catch (err) {
    return `the node's query is not valid JSON: ${(err as Error).message}`;
  }
}

function parseReturnTags(value: string | string[] | undefined): string[] {
  if (Array.isArray(value)) return value;
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}

export = function register(RED: NodeAPI): void {
  // Answer folders a crashed Node-RED left behind go at start, not at the first query.
  void sweepStaleFindAnswers();
  function PxFindNode(this: Node, def: PxFindDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-find');
    const status = new AnswerStatus(new StatusLight(this, say), say);
    const pacs = findPacsConfig(RED, def.pacs, status.light, say);
    const returnTags = parseReturnTags(def.returnTags);
    const limit = Number(def.limit) || 0;
    const nodeQuery = parseNodeQuery(def.query);
    if (typeof nodeQuery === 'string') status.light.failed(say('status.badQuery'));

    answerInputs(RED, this, { say, status }, async ({ msg, copy, answer, run }) => {
      if (typeof nodeQuery === 'string') throw failureBeforeRun('bad-input', 'bad query', nodeQuery);
      const settings = settingsForMessage(pacs, msg);
      const query = queryForMessage(nodeQuery, msg.payload);
      const outcome = await run((signal) => runFind(settings, query, { level: def.level || 'SERIES', returnTags, limit, signal, queue: pacs?.queue }));
      const records = outcome.error ? [] : outcome.result.data;
      if (!def.split || !records.length) {
        msg.payload = outcome.result;
        answer(msg);
      } else {
        // One message per match, a sequence a join node in automatic mode turns back into the list.
        const sequence = { id: RED.util.generateId(), count: records.length };
        const pypx = { status: outcome.result.status, command: outcome.result.command };
        answer(records.map((record, index) => Object.assign(copy(), { payload: record, pypx, parts: partOf(msg, sequence, index) })));
      }
      return { count: records.length, failure: outcome.error };
    });
  }
  RED.nodes.registerType('px-find', PxFindNode);

  // The edit dialog asks here what the runtime would say of the node's own query and return tags:
  // the same buildFindQuery, so the dialog refuses (and suggests) exactly what a message would.
  RED.httpAdmin.post('/px-find/check', RED.auth.needsPermission('px-find.read'), (req, res) => {
    const { level, query, returnTags } = (req.body ?? {}) as Record<string, unknown>;
    const problem = (check: () => unknown): string | undefined => {
      try {
        check();
        return undefined;
      } catch (err) {
        if (err instanceof SyntaxError) return `the node's query is not valid JSON: ${err.message}`;
        return err instanceof QueryError ? err.message : String(err);
      }
    };
    const at = typeof level === 'string' && level ? level : 'SERIES';
    res.json({
      query: problem(() => buildFindQuery(at, typeof query === 'string' && query.trim() ? JSON.parse(query) : {}, [])),
      returnTags: problem(() => buildFindQuery(at, {}, parseReturnTags(typeof returnTags === 'string' ? returnTags : ''))),
    });
  });
};
