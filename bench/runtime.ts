// The test helper's Node-RED runtime as a user runs it: node-red-node-test-helper spies on every
// node's send, status, log and error calls (and on the runtime's log), keeping each call's arguments
// and scheduling an event per call. That is test instrumentation, not Node-RED: benchmarks remove it
// once the flow is deployed and its status has been read.
import { helper } from '../test/support/flow';

export function withoutTestSpies(): void {
  (helper as unknown as { _sandbox: { restore(): void } })._sandbox.restore();
}
