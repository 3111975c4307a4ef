/**
 * The AWS `EventSink`: one EventBridge `PutEvents` entry per broker event, so the app's
 * other services can react (e.g. e-mail a customer on `connection.reauth_required`).
 *
 * Publishing never fails the caller. An event is a notification about a state change that
 * is already committed (a rotated refresh token, a connection marked `needs_reauth`);
 * throwing here would fail a refresh whose result is safely stored, and a retry would call
 * the provider again for nothing. So a failed entry or a failed call is logged (error code
 * only), counted in `failedCount`, and swallowed; the connection record stays the source
 * of truth, and the count lets a caller or a metric notice lost events.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { logger } from '../logger';
import type { BrokerEvent, EventSink } from '../ports';

/** The `source` of broker events unless configured otherwise. */
export const DEFAULT_EVENT_SOURCE = 'oauth-token-broker';

/** Options for `EventBridgeEventSink`; the client defaults to one from the environment. */
export interface EventBridgeEventSinkOptions {
  /** Event bus name or ARN. */
  busName: string;
  client?: EventBridgeClient;
  /** The events' `source`; rules match on it. */
  source?: string;
}

/** `EventSink` over EventBridge `PutEvents`; logs, counts and swallows failures (see file comment). */
export class EventBridgeEventSink implements EventSink {
  readonly #busName: string;
  readonly #client: EventBridgeClient;
  readonly #source: string;
  #failedCount = 0;

  constructor(options: EventBridgeEventSinkOptions) {
    this.#busName = options.busName;
    this.#client = options.client ?? new EventBridgeClient({});
    this.#source = options.source ?? DEFAULT_EVENT_SOURCE;
  }

  /** Events that could not be published since this sink was created. */
  get failedCount(): number {
    return this.#failedCount;
  }

  async publish(event: BrokerEvent): Promise<void> {
    const at = new Date(event.at);
    const command = new PutEventsCommand({
      Entries: [
        {
          EventBusName: this.#busName,
          Source: this.#source,
          DetailType: event.type,
          Detail: JSON.stringify({ ...event.detail, at: at.toISOString() }),
          Time: at,
        },
      ],
    });
    let errorCode: string | undefined;
    try {
      const output = await this.#client.send(command);
      if ((output.FailedEntryCount ?? 0) > 0) errorCode = output.Entries?.[0]?.ErrorCode ?? 'UnknownEntryError';
    } catch (err) {
      errorCode = err instanceof Error ? err.name : 'UnknownError';
    }
    if (errorCode === undefined) return;
    this.#failedCount += 1;
    // The code only: the SDK's messages are not ours to vouch for, and the detail is in the record.
    logger.warn('Broker event not published', {
      event_type: event.type,
      connection_id: event.detail.connection_id,
      provider: event.detail.provider,
      error_code: errorCode,
    });
  }
}
