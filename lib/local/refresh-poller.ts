/**
 * What Lambda's SQS event source mapping does on AWS, for the in-process refresh queue of `npm start`:
 * takes batches of a provider's queue, hands them to the refresh-worker handler as an SQS event, and
 * deletes what the handler did not report as a batch item failure. The same handler code as on AWS
 * runs behind it; the jobs it leaves come back after the queue's visibility timeout.
 */
import { randomBytes } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { encodeRefreshJob } from '../connections/refresh-job';
import { REFRESH_BATCH } from '../connections/refresh-worker';
import type { ReceivedRefreshJob, RefreshQueue } from '../ports';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Delivers one batch of `provider`'s queue to `handler`; returns how many jobs it delivered (0: the queue had none visible). */
export async function pollOnce(queue: RefreshQueue, provider: string, handler: SqsHandler, context: Context): Promise<number> {
  const jobs = await queue.receive(provider, REFRESH_BATCH);
  if (jobs.length === 0) return 0;
  const event: SQSEvent = { Records: jobs.map((job) => sqsRecord(job)) };
  const response = await handler(event, context);
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  await queue.delete(
    provider,
    jobs.filter((job) => !failed.has(job.receipt)),
  );
  return jobs.length;
}

/** The SQS record Lambda would deliver for `job` (the receipt doubles as the message id the handler reports back). */
function sqsRecord(job: ReceivedRefreshJob): SQSEvent['Records'][number] {
  return {
    messageId: job.receipt,
    receiptHandle: job.receipt,
    body: encodeRefreshJob(job),
    attributes: {
      ApproximateReceiveCount: String(job.receiveCount),
      SentTimestamp: String(job.dueAt),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: randomBytes(16).toString('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:local:000000000000:refresh-${job.provider}`,
    awsRegion: 'local',
  };
}
