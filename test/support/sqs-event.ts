/** The SQS event Lambda delivers to a refresh worker: one record per body, on `provider`'s queue. */
import type { SQSEvent } from 'aws-lambda';

export function sqsEvent(bodies: string[], provider = 'fault'): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i}`,
      receiptHandle: `r${i}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:local:0:refresh-${provider}`,
      awsRegion: 'local',
    })),
  };
}
