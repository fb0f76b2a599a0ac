// PYPX_BENCH_PROFILE=<folder>: each timed run of Node-RED's side written there as a CPU profile
// (<benchmark>-<n>.cpuprofile, for Chrome's DevTools or `node --cpu-prof`'s readers), covering only the
// timed window, not the benchmark's setup or DCMTK's runs alone.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const folder = process.env.PYPX_BENCH_PROFILE;
let session: Session | undefined;
let count = 0;

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session?.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
}

/** `run`, profiled when PYPX_BENCH_PROFILE names a folder. */
export async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  if (!folder) return run();
  if (!session) {
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
  }
  await post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await post<{ profile: object }>('Profiler.stop');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `${name}-${++count}.cpuprofile`), JSON.stringify(profile));
  }
}
