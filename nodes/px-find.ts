import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { sweepOnce } from '../lib/answer-folder';
import { failureBeforeRun } from '../lib/errors';
import { runFind } from '../lib/find';
import { isPlainObject } from '../lib/query';
import { describeType } from '../lib/settings';
import { buildFindQuery, QueryError } from '../lib';
import { findPacsConfig, handleClose, handleInput, reportFailure, RunningOperations, settingsForMessage } from './glue';
import { catalog } from './i18n';

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

function parseReturnTags(value: string | string[] | undefined): string[] {
  if (Array.isArray(value)) return value;
  return (value ?? '').split(/[\s,]+/).filter(Boolean);
}

export = function register(RED: NodeAPI): void {
  // Answer folders a crashed Node-RED left behind go at start, not at the first query.
  void sweepOnce();
  function PxFindNode(this: Node, def: PxFindDef) {
    RED.nodes.createNode(this, def);
    const say = catalog(RED, 'px-find');
    const pacs = findPacsConfig(RED, this, def.pacs, say);
    const operations = new RunningOperations();
    let queries = 0;
    const returnTags = parseReturnTags(def.returnTags);
    const limit = Number(def.limit) || 0;
    let baseQuery: Record<string, unknown> | string = {};
    try {
      const parsed: unknown = def.query && def.query.trim() ? JSON.parse(def.query) : {};
      baseQuery = isPlainObject(parsed) ? parsed : `the node's query must be a JSON object, not ${describeType(parsed)}`;
    } catch (err) {
      baseQuery = `the node's query is not valid JSON: ${(err as Error).message}`;
    }
    if (typeof baseQuery === 'string') this.status({ fill: 'red', shape: 'ring', text: say('status.badQuery') });

    handleInput(this, say, async (msg, send, done) => {
      if (typeof baseQuery === 'string') throw failureBeforeRun('bad-input', 'bad query', baseQuery);
      const settings = settingsForMessage(pacs, msg);
      const query = queryForMessage(baseQuery, msg.payload);
      this.status({ fill: 'blue', shape: 'dot', text: say('status.querying') });
      const outcome = await operations.run((signal) => runFind(settings, query, { level: def.level || 'SERIES', returnTags, limit, signal, queue: pacs?.queue }));
      queries++;
      if (outcome.error) return reportFailure(this, msg, done, outcome.error);
      const records = outcome.result.data;
      const matches = records.length === 1 ? say('status.oneMatch') : say('status.matches', { count: records.length });
      const count = outcome.limited ? say('status.limited', { count: matches }) : matches;
      this.status({ fill: 'green', shape: 'dot', text: queries === 1 ? count : say('status.ofQueries', { text: count, queries }) });
      if (!def.split || records.length === 0) {
        msg.payload = outcome.result;
        send(msg);
      } else {
        const id = RED.util.generateId();
        const outer = msg.parts;
        const messages = records.map((record, index) => ({
          ...msg,
          payload: record,
          pypx: { status: outcome.result.status, command: outcome.result.command },
          parts: { id, index, count: records.length, type: 'array', len: 1, ...(outer ? { parts: outer } : {}) },
        })) as NodeMessageInFlow[];
        send([messages]);
      }
      done();
    });
    handleClose(this, () => operations.stopAll());
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
