/**
 * The built-in catalogue as validated at build time. Lambda handlers use this when
 * no BROKER_PROVIDERS_FILE is set: a cold start then evaluates neither zod nor yaml
 * (about 65 ms of import time, measured by `npm run bench`). A unit test proves it
 * equals what the loader produces from catalogue.yaml.
 */
import { BUILTIN_PROVIDERS_JSON } from './builtin-providers.generated';
import type { Catalogue, Provider } from './schema';

/**
 * The built-in providers, each parsed and frozen the first time it is asked for: a function
 * serves one provider per request, and parsing and freezing all of them cost a cold start
 * about 1 ms (`npm run bench -- bundles`). Listing the keys parses nothing; listing the
 * providers (the admin API's provider list) parses them all, once.
 */
class BuiltinCatalogue implements Catalogue {
  private readonly texts: ReadonlyMap<string, string>;
  private readonly parsed = new Map<string, Provider>();
  /** Every provider in catalogue order, once something asked for all of them. */
  private all: ReadonlyMap<string, Provider> | undefined;

  constructor(entries: ReadonlyArray<readonly [key: string, provider: string]>) {
    this.texts = new Map(entries);
  }

  get size(): number {
    return this.texts.size;
  }

  has(key: string): boolean {
    return this.texts.has(key);
  }

  get(key: string): Provider | undefined {
    const known = this.parsed.get(key);
    if (known !== undefined) return known;
    const text = this.texts.get(key);
    if (text === undefined) return undefined;
    const provider = deepFreeze(JSON.parse(text) as Provider);
    this.parsed.set(key, provider);
    return provider;
  }

  keys(): MapIterator<string> {
    return this.texts.keys();
  }

  values(): MapIterator<Provider> {
    return this.everyProvider().values();
  }

  entries(): MapIterator<[string, Provider]> {
    return this.everyProvider().entries();
  }

  [Symbol.iterator](): MapIterator<[string, Provider]> {
    return this.entries();
  }

  forEach(callback: (provider: Provider, key: string, map: ReadonlyMap<string, Provider>) => void, thisArg?: unknown): void {
    for (const [key, provider] of this.entries()) callback.call(thisArg, provider, key, this);
  }

  private everyProvider(): ReadonlyMap<string, Provider> {
    this.all ??= new Map([...this.texts.keys()].map((key) => [key, this.get(key) as Provider]));
    return this.all;
  }
}

let builtin: Catalogue | undefined;

export function builtinCatalogue(): Catalogue {
  builtin ??= new BuiltinCatalogue(BUILTIN_PROVIDERS_JSON);
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
