import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogEventSink, MemoryEventSink } from '../../../lib/adapters/log-sink';
import { logger } from '../../../lib/logger';
import type { BrokerEvent } from '../../../lib/ports';

function event(n: number, type: BrokerEvent['type'] = 'connection.refresh_failed'): BrokerEvent {
  return { type, detail: { connection_id: `conn-${n}`, provider: 'sandbox', tenant: null }, at: Date.UTC(2025, 0, 1, 0, 0, n) };
}

describe('LogEventSink', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('logs each event with its type, detail and ISO time', async () => {
    const info = vi.spyOn(logger, 'info');
    await new LogEventSink().publish(event(1));
    expect(info).toHaveBeenCalledWith('Broker event', {
      event_type: 'connection.refresh_failed',
      connection_id: 'conn-1',
      provider: 'sandbox',
      tenant: null,
      at: '2025-01-01T00:00:01.000Z',
    });
  });

  it('keeps the last N events, oldest first', async () => {
    const sink = new LogEventSink({ capacity: 3 });
    for (let n = 1; n <= 5; n += 1) await sink.publish(event(n));
    expect(sink.recent().map((e) => e.detail.connection_id)).toStrictEqual(['conn-3', 'conn-4', 'conn-5']);
  });

  it('keeps 200 events by default', async () => {
    const sink = new LogEventSink();
    for (let n = 1; n <= 250; n += 1) await sink.publish(event(n));
    expect(sink.recent()).toHaveLength(200);
    expect(sink.recent()[0]!.detail.connection_id).toBe('conn-51');
  });

  it('stores a frozen copy, so neither the publisher nor a reader can rewrite history', async () => {
    const sink = new LogEventSink();
    const published = event(1);
    await sink.publish(published);
    published.detail.connection_id = 'changed';
    expect(() => {
      sink.recent()[0]!.detail.provider = 'changed too';
    }).toThrow(TypeError);
    expect(sink.recent()[0]!.detail).toStrictEqual({ connection_id: 'conn-1', provider: 'sandbox', tenant: null });
  });

  it('notifies subscribers until they unsubscribe', async () => {
    const sink = new LogEventSink();
    const seen: string[] = [];
    const unsubscribe = sink.subscribe((e) => seen.push(String(e.detail.connection_id ?? '')));
    await sink.publish(event(1));
    unsubscribe();
    await sink.publish(event(2));
    expect(seen).toStrictEqual(['conn-1']);
  });

  it('does not let a failing subscriber fail the publish or starve the others', async () => {
    const sink = new LogEventSink();
    const seen: string[] = [];
    sink.subscribe(() => {
      throw new Error('dashboard stream closed');
    });
    sink.subscribe((e) => seen.push(String(e.detail.connection_id ?? '')));
    await expect(sink.publish(event(1))).resolves.toBeUndefined();
    expect(seen).toStrictEqual(['conn-1']);
  });
});

describe('MemoryEventSink', () => {
  it('records every published event in order', async () => {
    const sink = new MemoryEventSink();
    await sink.publish(event(1, 'connection.created'));
    await sink.publish(event(2, 'connection.revoked'));
    expect(sink.events.map((e) => e.type)).toStrictEqual(['connection.created', 'connection.revoked']);
    expect(sink.ofType('connection.revoked')).toStrictEqual([event(2, 'connection.revoked')]);
  });
});
