// The test helper's Node-RED runtime as a user runs it: node-red-node-test-helper spies on every
// node's send, status, log and error calls (and on the runtime's log), keeping each call's arguments
// and a stack trace. That is test instrumentation, not Node-RED: benchmarks remove it once the flow
// is deployed and its status has been read.
import { helper } from '../test/support/flow';

interface RuntimeNode {
  wires: string[][];
  updateWires(wires: string[][]): void;
}

export function withoutTestSpies(): void {
  (helper as unknown as { _sandbox: { restore(): void } })._sandbox.restore();
  // Node-RED copies Node.prototype.send onto each node when it wires it (the spy, while the helper
  // had it in place): wiring each node again gives it the real send.
  const nodes = (helper as unknown as { _redNodes: { eachNode(visit: (config: { id: string }) => void): void; getNode(id: string): RuntimeNode | null } })._redNodes;
  nodes.eachNode(({ id }) => {
    const node = nodes.getNode(id);
    node?.updateWires(node.wires);
  });
}
