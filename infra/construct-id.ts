/** `rd-station` -> `RdStation`: construct and output ids built from provider keys and secret names stay readable and alphanumeric. */
export function pascalId(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
