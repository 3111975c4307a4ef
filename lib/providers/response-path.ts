/**
 * Paths into a provider's JSON answer, as the catalogue names them: `error`, `hub_id`,
 * `team.id`, `errors.error_type`, `errors[0].code`. Providers put the same fact in
 * different places (RD Station nests its error code under `errors`, Slack its team id under
 * `team`), so where to look is catalogue data and this is the one reader.
 *
 * Dots step into objects, `[n]` into arrays. Own properties only, so a path can never reach
 * `Object.prototype` (`constructor`, `__proto__`). Zod-free: the Lambda handlers use it.
 */

/** What a catalogue path may look like: names of letters, digits, `_`, `-` or `$`, each optionally indexed. */
export const RESPONSE_PATH_PATTERN = /^[A-Za-z0-9_$-]+(?:\[\d{1,4}\])*(?:\.[A-Za-z0-9_$-]+(?:\[\d{1,4}\])*)*$/;

/** The value at `path` in `root`, or undefined when any step is missing. `path` must match RESPONSE_PATH_PATTERN. */
export function valueAtPath(root: unknown, path: string): unknown {
  let current = root;
  for (const step of steps(path)) {
    if (typeof step === 'number') {
      if (!Array.isArray(current) || step >= current.length) return undefined;
      current = current[step];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}

function steps(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const segment of path.split('.')) {
    const bracket = segment.indexOf('[');
    out.push(bracket === -1 ? segment : segment.slice(0, bracket));
    if (bracket !== -1) for (const index of segment.slice(bracket).matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

/**
 * Where the token endpoint's error code is looked for when a provider's entry does not say
 * (`error_code_paths`), first string found wins: RFC 6749 `error`, HubSpot v1 `status`, a flat
 * `error_type` / `error_code`, RD Station's nested `errors.error_type` (its SDK also handles a
 * list of such objects), `{"error":{"code":…}}`, and Notion-style `code`.
 */
export const DEFAULT_ERROR_CODE_PATHS: readonly string[] = [
  'error',
  'status',
  'error_type',
  'error_code',
  'errors.error_type',
  'errors[0].error_type',
  'errors[0].code',
  'error.code',
  'code',
];
