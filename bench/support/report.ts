/** Figures and how they are printed: percentiles, number formats, aligned tables, env knobs. */

export interface Percentiles {
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `samples` (ms). */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { min: sorted[0] ?? Number.NaN, p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

export const mean = (samples: readonly number[]): number => (samples.length === 0 ? Number.NaN : samples.reduce((sum, x) => sum + x, 0) / samples.length);
export const ms = (value: number, digits = 0): string => `${value.toFixed(digits)} ms`;
export const perSecond = (value: number): string => `${value.toFixed(1)}/s`;
export const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

/** Prints rows under headers; numbers and the first column are aligned. */
export function printTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = '  '): void {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  console.log(line(headers));
  console.log(indent + widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** `GetItem 3, UpdateItem 2`: command counts by name. */
export function formatCommands(commands: Record<string, number>): string {
  const entries = Object.entries(commands).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([name, n]) => `${name} ${n}`).join(', ');
}

/** A section title. */
export function heading(title: string): void {
  console.log(`\n== ${title} ${'='.repeat(Math.max(0, 76 - title.length))}`);
}

/** A positive integer from the environment, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** Invariant checks the bench reports (never timing): a broken one makes `npm run bench` exit 1. */
export class Checks {
  readonly failed: string[] = [];
  /** Records `ok`, and returns the word to print beside the figure. */
  expect(ok: boolean, what: string): string {
    if (!ok) this.failed.push(what);
    return ok ? 'ok' : 'UNEXPECTED';
  }
}
