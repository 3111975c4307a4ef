/**
 * The broker's log lines as CloudWatch would receive them: the Powertools logger's JSON written
 * to stdout/stderr, captured and parsed. The suite runs with POWERTOOLS_LOG_LEVEL=SILENT
 * (vitest.config.ts); capturing turns INFO on for the test and back off after.
 */
import { vi } from 'vitest';
import { edgeLogger } from '../../lib/local/edge-logger';
import { logger } from '../../lib/logger';

export type LogLine = Record<string, unknown> & { level: string; message: string };

export interface CapturedLogs {
  /** Every JSON line written since capture started. */
  lines(): LogLine[];
  /** The lines with this message. */
  withMessage(message: string): LogLine[];
  /** Everything written, as text (to assert that a secret never appears). */
  text(): string;
  restore(): void;
}

export function captureLogs(): CapturedLogs {
  const written: string[] = [];
  const spies: Array<{ mockRestore(): void }> = [process.stdout, process.stderr].map((stream) =>
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write),
  );
  // edgeLogger: the local server's own lines (no route, no admin key), outside any invocation.
  for (const each of [logger, edgeLogger]) each.setLogLevel('INFO');
  // injectLambdaContext resets the level to the one the logger was built with (SILENT here) at
  // each invocation after the first (Powertools' debug sampling); keep INFO while capturing.
  spies.push(vi.spyOn(logger, 'refreshSampleRateCalculation').mockImplementation(() => undefined) as never);
  const lines = (): LogLine[] =>
    written
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  return {
    lines,
    withMessage: (message) => lines().filter((line) => line.message === message),
    text: () => written.join(''),
    restore: () => {
      for (const each of [logger, edgeLogger]) each.setLogLevel('SILENT');
      for (const spy of spies) spy.mockRestore();
    },
  };
}
