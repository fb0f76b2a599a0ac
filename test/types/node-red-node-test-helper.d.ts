declare module 'node-red-node-test-helper' {
  import type { Node } from 'node-red';
  interface TestHelper {
    init(nodeRedRuntimePath: string, userSettings?: Record<string, unknown>): void;
    load(nodes: unknown | unknown[], flow: unknown[], credentials?: Record<string, unknown>): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): Node | null;
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
    settings(userSettings: Record<string, unknown>): void;
    url(): string;
    request(): unknown;
    clearFlows(): Promise<void>;
    setFlows(flow: unknown[], type?: string): Promise<void>;
    _RED: unknown;
  }
  const helper: TestHelper;
  export = helper;
}
