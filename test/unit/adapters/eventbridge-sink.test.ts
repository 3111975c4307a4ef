import { EventBridgeClient, EventBridgeServiceException, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBridgeEventSink } from '../../../lib/adapters/eventbridge-sink';
import { logger } from '../../../lib/logger';
import type { BrokerEvent } from '../../../lib/ports';

const AT = Date.parse('2025-03-04T05:06:07.089Z');
const EVENT: BrokerEvent = {
  type: 'connection.reauth_required',
  detail: { connection_id: 'conn-1', provider: 'hubspot', tenant: '12345', reason: 'invalid_grant' },
  at: AT,
};

describe('EventBridgeEventSink', () => {
  const eventBridge = mockClient(EventBridgeClient);
  const client = new EventBridgeClient({ region: 'eu-west-1' });

  beforeEach(() => {
    eventBridge.reset();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('puts one entry with the event type as detail-type and the detail plus ISO time as JSON', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    await new EventBridgeEventSink({ busName: 'broker-bus', client }).publish(EVENT);

    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toStrictEqual({
      Entries: [
        {
          EventBusName: 'broker-bus',
          Source: 'oauth-token-broker',
          DetailType: 'connection.reauth_required',
          Detail: '{"connection_id":"conn-1","provider":"hubspot","tenant":"12345","reason":"invalid_grant","at":"2025-03-04T05:06:07.089Z"}',
          Time: new Date(AT),
        },
      ],
    });
  });

  it('uses the configured source', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    await new EventBridgeEventSink({ busName: 'broker-bus', client, source: 'acme.broker' }).publish(EVENT);
    expect(eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries?.[0]?.Source).toBe('acme.broker');
  });

  it('swallows a failed entry, logs its error code only, and counts it', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded for bus broker-bus' }],
    });
    const warn = vi.spyOn(logger, 'warn');
    const sink = new EventBridgeEventSink({ busName: 'broker-bus', client });

    await expect(sink.publish(EVENT)).resolves.toBeUndefined();

    expect(sink.failedCount).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('Broker event not published', {
      event_type: 'connection.reauth_required',
      connection_id: 'conn-1',
      provider: 'hubspot',
      error_code: 'ThrottlingException',
    });
  });

  it('swallows a failed call the same way', async () => {
    eventBridge
      .on(PutEventsCommand)
      .rejects(new EventBridgeServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'no', $metadata: {} }));
    const warn = vi.spyOn(logger, 'warn');
    const sink = new EventBridgeEventSink({ busName: 'broker-bus', client });

    await sink.publish(EVENT);
    await sink.publish(EVENT);

    expect(sink.failedCount).toBe(2);
    expect(warn).toHaveBeenLastCalledWith('Broker event not published', expect.objectContaining({ error_code: 'AccessDeniedException' }));
  });

  it('does not count or log a successful publish', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const warn = vi.spyOn(logger, 'warn');
    const sink = new EventBridgeEventSink({ busName: 'broker-bus', client });
    await sink.publish(EVENT);
    expect(sink.failedCount).toBe(0);
    expect(warn).not.toHaveBeenCalled();
  });
});
