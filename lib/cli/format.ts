/** The CLI's readable output: aligned tables and key/value lists (the `--json` output is the API's own). */
import type { ConnectionSummary, ProviderList } from '../admin-client';

/** Columns padded to their widest cell; `-` for an empty one. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => (cell === '' ? '-' : cell)))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}

/** `2030-01-01T10:00:00.000Z` → `2030-01-01 10:00Z`: minutes are enough in a table. */
function shortTime(iso: string | null): string {
  return iso === null ? '' : iso.replace('T', ' ').replace(/:\d\d\.\d+Z$|:\d\dZ$/, 'Z');
}

export function connectionsTable(connections: readonly ConnectionSummary[]): string {
  if (connections.length === 0) return 'no connections\n';
  return table(
    ['ID', 'PROVIDER', 'TENANT', 'STATUS', 'EXPIRES', 'REFRESH DUE', 'LAST ERROR'],
    connections.map((c) => [c.id, c.provider, c.tenant ?? '', c.status, shortTime(c.expires_at), shortTime(c.refresh_due_at), c.last_error?.code ?? '']),
  );
}

/** `name: value` lines; objects and lists as JSON. */
export function keyValues(record: object): string {
  const entries = Object.entries(record);
  const width = Math.max(...entries.map(([name]) => name.length));
  return entries.map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${typeof value === 'string' ? value : JSON.stringify(value)}`).join('\n') + '\n';
}

export function connectionDetails(connection: ConnectionSummary): string {
  return keyValues(connection);
}

export function providersTable(list: ProviderList): string {
  let text = table(
    ['KEY', 'NAME', 'CONNECTS WITH', 'DEFAULT SCOPES', 'REVOCATION', 'HEALTH'],
    list.providers.map((p) => [
      p.key,
      p.display_name,
      p.connect_with === 'install_link' ? 'install link' : 'PUT /connections/{id}',
      p.default_scopes.join(' '),
      p.revocation ? 'yes' : 'no',
      p.health.circuit === 'closed' ? (p.health.failures > 0 ? `ok, ${p.health.failures} failures` : 'ok') : `circuit ${p.health.circuit}${p.health.next_probe_at ? `, next probe ${shortTime(p.health.next_probe_at)}` : ''}`,
    ]),
  );
  if (list.skipped.length > 0) text += `\nskipped (enabled, not served):\n${table(['KEY', 'REASON'], list.skipped.map((s) => [s.key, s.reason]))}`;
  return text;
}
