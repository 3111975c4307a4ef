/**
 * Local `EventSink`s: `LogEventSink` for the embedded runtime (each event as a log line,
 * the last few kept for the dashboard) and `MemoryEventSink` for tests.
 */
import { logger } from '../logger';
import type { BrokerEvent, EventSink } from '../ports';

/** How many events `LogEventSink` keeps for the dashboard by default. */
export const DEFAULT_RECENT_EVENTS = 200;

/** Called with each event as it is published. */
export type BrokerEventListener = (event: BrokerEvent) => void;

/** `EventSink` that logs each event, keeps the last `capacity` in memory and notifies subscribers. */
export class LogEventSink implements EventSink {
  readonly #capacity: number;
  readonly #recent: BrokerEvent[] = [];
  readonly #listeners = new Set<BrokerEventListener>();

  constructor(options: { capacity?: number } = {}) {
    this.#capacity = Math.max(0, options.capacity ?? DEFAULT_RECENT_EVENTS);
  }

  async publish(event: BrokerEvent): Promise<void> {
    // A frozen copy: neither the publisher reusing its object nor a dashboard consumer can rewrite history.
    const stored = Object.freeze({ ...event, detail: Object.freeze({ ...event.detail }) }) as BrokerEvent;
    logger.info('Broker event', { event_type: stored.type, ...stored.detail, at: new Date(stored.at).toISOString() });
    this.#recent.push(stored);
    if (this.#recent.length > this.#capacity) this.#recent.splice(0, this.#recent.length - this.#capacity);
    for (const listener of this.#listeners) {
      // Like EventBridge, a broken consumer (a closed dashboard stream) must not fail a refresh.
      try {
        listener(stored);
      } catch (err) {
        logger.warn('Broker event listener failed', { event_type: stored.type, error_name: err instanceof Error ? err.name : 'unknown' });
      }
    }
  }

  /** The last events published, oldest first (frozen objects). */
  recent(): BrokerEvent[] {
    return [...this.#recent];
  }

  /** Calls `listener` for every event published from now on; returns the function that unsubscribes it. */
  subscribe(listener: BrokerEventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}

/** `EventSink` for tests: every published event, in order, in `events`. */
export class MemoryEventSink implements EventSink {
  readonly events: BrokerEvent[] = [];

  async publish(event: BrokerEvent): Promise<void> {
    this.events.push(event);
  }

  /** The published events of one type. */
  ofType(type: BrokerEvent['type']): BrokerEvent[] {
    return this.events.filter((event) => event.type === type);
  }
}
