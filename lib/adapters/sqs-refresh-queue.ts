/**
 * The AWS RefreshQueue: one SQS standard queue per provider (the CDK construct creates them, with a
 * shared dead-letter queue, and names them to the functions in `BROKER_REFRESH_QUEUES`). The
 * scheduler sends with `SendMessageBatch`, ten jobs a call; on Lambda the event source mapping
 * receives and deletes, so `receive` and `delete` serve a poller outside Lambda (the local runtime
 * pointed at a real queue).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { BrokerError } from '../errors';
import { logger } from '../logger';
import { decodeRefreshJob, encodeRefreshJob } from '../connections/refresh-job';
import type { ReceivedRefreshJob, RefreshJob, RefreshQueue } from '../ports';

/** SQS takes at most ten entries per batch call. */
export const SQS_BATCH = 10;
/** Batch calls in flight at once while sending. */
const SEND_CONCURRENCY = 8;
/** Attempts for entries SQS refused (throttling is reported per entry, with `SenderFault` false). */
const SEND_ATTEMPTS = 3;

export interface SqsRefreshQueueOptions {
  /** Queue URL per provider key. */
  queueUrls: Readonly<Record<string, string>>;
  client?: SQSClient;
  /** Between attempts for refused entries; tests pass a no-op. */
  sleep?: (ms: number) => Promise<void>;
}

/** `hubspot=https://sqs...,highlevel=https://sqs...` (what the CDK construct writes into `BROKER_REFRESH_QUEUES`) as a map. */
export function parseQueueUrls(value: string): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const pair of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    const provider = pair.slice(0, at).trim();
    const url = pair.slice(at + 1).trim();
    if (at <= 0 || !/^https:\/\/\S+$/.test(url)) throw new BrokerError('configuration_error', 'BROKER_REFRESH_QUEUES must look like "provider=https://sqs...,other=https://sqs..."');
    urls[provider] = url;
  }
  return urls;
}

export class SqsRefreshQueue implements RefreshQueue {
  readonly #queueUrls: Readonly<Record<string, string>>;
  readonly #client: SQSClient;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: SqsRefreshQueueOptions) {
    this.#queueUrls = options.queueUrls;
    this.#client = options.client ?? new SQSClient({});
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async send(jobs: readonly RefreshJob[]): Promise<void> {
    const batches: Array<{ queueUrl: string; jobs: RefreshJob[] }> = [];
    const byProvider = new Map<string, RefreshJob[]>();
    for (const job of jobs) {
      const list = byProvider.get(job.provider) ?? [];
      list.push(job);
      byProvider.set(job.provider, list);
    }
    for (const [provider, list] of byProvider) {
      const queueUrl = this.#queueUrl(provider);
      for (let i = 0; i < list.length; i += SQS_BATCH) batches.push({ queueUrl, jobs: list.slice(i, i + SQS_BATCH) });
    }
    let unsent = 0;
    let next = 0;
    const sender = async (): Promise<void> => {
      while (next < batches.length) unsent += await this.#sendBatch(batches[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, batches.length) }, sender));
    if (unsent > 0) throw new BrokerError('queue_unavailable', `${unsent} of ${jobs.length} refresh jobs could not be queued; they stay due`);
  }

  /** One batch call, retrying the entries SQS refused; returns how many were never accepted. */
  async #sendBatch(batch: { queueUrl: string; jobs: RefreshJob[] }): Promise<number> {
    let entries: SendMessageBatchRequestEntry[] = batch.jobs.map((job, i) => ({ Id: String(i), MessageBody: encodeRefreshJob(job) }));
    for (let attempt = 1; entries.length > 0; attempt++) {
      try {
        const result = await this.#client.send(new SendMessageBatchCommand({ QueueUrl: batch.queueUrl, Entries: entries }));
        const failed = new Set((result.Failed ?? []).filter((f) => !f.SenderFault).map((f) => f.Id));
        const senderFaults = (result.Failed ?? []).filter((f) => f.SenderFault).length;
        if (senderFaults > 0) logger.error('refresh queue refused jobs as malformed', { count: senderFaults, code: result.Failed?.find((f) => f.SenderFault)?.Code });
        entries = entries.filter((entry) => failed.has(entry.Id));
        if (entries.length === 0) return senderFaults;
        if (attempt >= SEND_ATTEMPTS) return entries.length + senderFaults;
      } catch (err) {
        if (attempt >= SEND_ATTEMPTS) {
          logger.error('refresh queue unavailable', { error: err instanceof Error ? err.name : 'unknown' });
          return entries.length;
        }
      }
      await this.#sleep(50 * 2 ** (attempt - 1));
    }
    return 0;
  }

  async depth(provider: string): Promise<number> {
    const result = await this.#client.send(new GetQueueAttributesCommand({ QueueUrl: this.#queueUrl(provider), AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(result.Attributes?.ApproximateNumberOfMessages ?? 0);
  }

  async receive(provider: string, max: number): Promise<ReceivedRefreshJob[]> {
    const result = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl(provider),
        MaxNumberOfMessages: Math.min(max, SQS_BATCH),
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        WaitTimeSeconds: 0,
      }),
    );
    const jobs: ReceivedRefreshJob[] = [];
    for (const message of result.Messages ?? []) {
      try {
        jobs.push({
          ...decodeRefreshJob(message.Body ?? ''),
          receipt: message.ReceiptHandle!,
          receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
        });
      } catch {
        // Never deleted: after the redrive limit it lands in the dead-letter queue, where someone can read it.
        logger.error('refresh queue: a message that is not a refresh job', { provider });
      }
    }
    return jobs;
  }

  async delete(provider: string, jobs: readonly ReceivedRefreshJob[]): Promise<void> {
    const queueUrl = this.#queueUrl(provider);
    for (let i = 0; i < jobs.length; i += SQS_BATCH) {
      const chunk = jobs.slice(i, i + SQS_BATCH);
      const result = await this.#client.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((job, k) => ({ Id: String(k), ReceiptHandle: job.receipt })) }),
      );
      // An undeleted job only comes back once more and costs its worker one read: log, do not fail.
      if ((result.Failed ?? []).length > 0) logger.warn('refresh queue: some jobs were not deleted', { provider, count: result.Failed!.length });
    }
  }

  #queueUrl(provider: string): string {
    const url = this.#queueUrls[provider];
    if (!url) throw new BrokerError('configuration_error', `No refresh queue for provider "${provider}" (BROKER_REFRESH_QUEUES)`);
    return url;
  }
}
