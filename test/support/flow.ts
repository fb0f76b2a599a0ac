import { readFileSync } from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import type { Node, NodeMessage } from 'node-red';

helper.init(require.resolve('node-red'));

export { helper };

type NodeModule = (RED: unknown) => void;
/**
 * The compiled node modules of these types, as the runtime loads them. The test helper's RED._ returns
 * the key it is given; here it reads the node file's English catalog, as the runtime does.
 */
export function nodeModules(...types: string[]): NodeModule[] {
  return types.map((type) => {
    const register = require(`../../nodes/${type}`) as NodeModule;
    const translate = englishCatalog(type);
    return (RED: unknown) => register(Object.assign(Object.create(RED as object) as object, { _: translate }));
  });
}

/** RED._ over locales/en-US/<type>.json, with Node-RED's __name__ interpolation; a missing key is an error. */
export function englishCatalog(type: string): (key: string, vars?: Record<string, unknown>) => string {
  const messages = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', `${type}.json`), 'utf8')) as Record<string, unknown>;
  return (key, vars = {}) => {
    const text = key.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], messages);
    if (typeof text !== 'string') throw new Error(`no text "${key}" in locales/en-US/${type}.json`);
    return text.replace(/__(\w+)__/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
  };
}

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  wires?: string[][];
  [key: string]: unknown;
}

const CONFIG_TYPES = new Set(['px-pacs']);

/** Wraps nodes in a tab, as Catch and Status nodes need; on a tab, only nodes with x and y count as flow nodes. */
export function onTab(flowNodes: FlowNode[]): FlowNode[] {
  const placed = flowNodes.map((n) => (CONFIG_TYPES.has(n.type) ? { z: 'tab', ...n } : { z: 'tab', x: 100, y: 100, ...n }));
  return [{ id: 'tab', type: 'tab', label: 'test' }, ...placed];
}

/** Node-RED's own join node, for flows that check msg.parts. */
export const joinModule = require('@node-red/nodes/core/sequence/17-split.js') as NodeModule;

const caught: FlowNode[] = [
  { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper' },
];

/**
 * px-get as flows use it, on a tab with the config node `pacs` (id "pacs"): each instance to helper
 * "instances", each retrieve to "retrieves" and to a join whose array goes to "joined", errors to a Catch
 * node and on to "caught". Load it with joinModule.
 */
export function getFlow(pacs: FlowNode, get: Record<string, unknown> = {}, extra: FlowNode[] = []): FlowNode[] {
  return onTab([
    pacs,
    { id: 'get', type: 'px-get', pacs: 'pacs', wires: [['instances'], ['retrieves', 'join']], ...get },
    { id: 'instances', type: 'helper' },
    { id: 'retrieves', type: 'helper' },
    { id: 'join', type: 'join', mode: 'auto', build: 'array', property: 'payload', propertyType: 'msg', timeout: '', count: '', wires: [['joined']] },
    { id: 'joined', type: 'helper' },
    ...caught,
    ...extra,
  ]);
}

/** px-send with the config node `pacs` (id "pacs"), its answer to helper "out", errors to a Catch node and on to "caught". */
export function sendFlow(pacs: FlowNode, send: Record<string, unknown> = {}): FlowNode[] {
  return onTab([
    pacs,
    { id: 'send', type: 'px-send', pacs: 'pacs', retries: 0, wires: [['out']], ...send },
    { id: 'out', type: 'helper' },
    ...caught,
  ]);
}

/** The next message a helper node receives, or an error after `ms`. */
export function nextMessage<T = NodeMessage>(nodeId: string, ms = 30000): Promise<T> {
  const node = helper.getNode(nodeId) as Node;
  return new Promise((resolve, reject) => {
    // Unref'd: a test that failed before awaiting it must not hold the run open; one that awaits it is held by mocha's timeout.
    const timer = setTimeout(() => reject(new Error(`no message reached ${nodeId} within ${ms} ms`)), ms).unref();
    node.once('input', (msg: T) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/**
 * Every status this node set, in order. The test helper spies on Node.prototype.status, one spy for
 * every node of the flow: the calls are told apart by the node they were made on.
 */
export function statusLog(nodeId: string): Array<{ fill?: string; shape?: string; text?: string }> {
  const node = helper.getNode(nodeId) as unknown as { status: { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> } };
  return node.status.getCalls().filter((call) => call.thisValue === node).map((call) => call.args[0] as { fill?: string; shape?: string; text?: string });
}

/**
 * Resolves once `proof` has come (a later event showing the node is done with the input: the Catch
 * message its done(err) sends, the answer that follows, ...) without any message having reached the
 * node meanwhile; rejects naming the message if one did. Node-RED delivers messages in the order they
 * were sent, so a message sent before the proof has arrived by the turn after it.
 */
export async function noMessage(nodeId: string, proof: Promise<unknown>): Promise<void> {
  const node = helper.getNode(nodeId) as Node;
  const got: unknown[] = [];
  const onInput = (msg: unknown) => got.push(msg);
  node.on('input', onInput);
  try {
    // A proof that fails is reported by whoever awaits it.
    await proof.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    node.removeListener('input', onInput);
  }
  if (got.length) throw new Error(`unexpected message at ${nodeId}: ${JSON.stringify(got[0])}`);
}

/** Messages reaching the helper that replaced the debug node of this name. */
export function shown(flow: FlowNode[], name: string): NodeMessage[] {
  const got: NodeMessage[] = [];
  (helper.getNode(flow.find((n) => n.name === name)?.id as string) as unknown as NodeJS.EventEmitter).on('input', (msg: NodeMessage) => got.push(msg));
  return got;
}
