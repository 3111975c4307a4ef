/**
 * The built-in catalogue as validated at build time. Lambda handlers use this when
 * no BROKER_PROVIDERS_FILE is set: a cold start then evaluates neither zod nor yaml
 * (about 65 ms of import time, measured by `npm run bench`). A unit test proves it
 * equals what the loader produces from catalogue.yaml.
 */
import { BUILTIN_PROVIDERS_JSON } from './builtin-providers.generated';
import type { Catalogue, Provider } from './schema';

let builtin: Catalogue | undefined;

export function builtinCatalogue(): Catalogue {
  builtin ??= new Map(BUILTIN_PROVIDERS_JSON.map(([key, text]) => [key, deepFreeze(JSON.parse(text) as Provider)]));
  return builtin;
}

/** Freezes a catalogue entry and everything in it, so no caller can change a shared provider. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
