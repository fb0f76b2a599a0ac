// What every benchmark reports: one entry per figure, as written to bench/results.json.
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** For a ratio: the target it is judged against, and which direction is better. */
  target?: number;
  better?: 'lower' | 'higher';
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}
