/**
 * An in-memory ProviderHealthStore with the DynamoDB adapter's conditional semantics. It is
 * shared by nothing but its own process: the default of a broker built without a health store
 * (tests, the schedule simulation); a fleet needs the DynamoDB one so every worker sees one circuit.
 */
import { BrokerError } from '../errors';
import type { ProviderHealth } from '../model';
import { systemClock, type Clock, type HealthChanges, type ProviderHealthStore } from '../ports';

export class MemoryProviderHealthStore implements ProviderHealthStore {
  private readonly items = new Map<string, ProviderHealth>();

  constructor(private readonly clock: Clock = systemClock) {}

  async getHealth(provider: string): Promise<ProviderHealth | undefined> {
    const health = this.items.get(provider);
    return health && structuredClone(health);
  }

  async updateHealth(provider: string, expectedVersion: number, changes: HealthChanges): Promise<ProviderHealth> {
    const current = this.items.get(provider);
    if ((current?.version ?? 0) !== expectedVersion) {
      throw new BrokerError('conflict', `Health of provider ${provider} changed concurrently (expected version ${expectedVersion})`);
    }
    const next: Record<string, unknown> = { ...(current ?? { provider, failures: 0 }), updatedAt: this.clock.now() };
    for (const [field, value] of Object.entries(changes.set ?? {})) {
      if (value === undefined) delete next[field];
      else next[field] = structuredClone(value);
    }
    for (const field of changes.remove ?? []) delete next[field];
    next.version = expectedVersion + 1;
    next.provider = provider;
    this.items.set(provider, next as unknown as ProviderHealth);
    return structuredClone(next) as unknown as ProviderHealth;
  }
}
