/**
 * SQS as the refresh queue contract needs it, behind aws-sdk-client-mock: standard queues with a
 * visibility timeout and a redrive policy (maxReceiveCount), on the test's clock. No SQS engine runs
 * here (only the npm registry is reachable, and ElasticMQ is a JVM download), so the SQS adapter's
 * side of the contract is checked against these documented semantics:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
 */
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../lib/ports';

interface Message {
  body: string;
  receiveCount: number;
  visibleAt: number;
  receipt?: string;
}

export function fakeSqs(options: { clock: Clock; visibilityTimeoutMs: number; maxReceiveCount: number }) {
  const queues = new Map<string, Message[]>();
  const deadLetters: string[] = [];
  let serial = 0;
  const queue = (url: string) => {
    let q = queues.get(url);
    if (!q) queues.set(url, (q = []));
    return q;
  };
  const client = new SQSClient({ region: 'eu-west-1' });
  const mock = mockClient(client);
  mock.on(SendMessageBatchCommand).callsFake((input) => {
    for (const entry of input.Entries) queue(input.QueueUrl).push({ body: entry.MessageBody, receiveCount: 0, visibleAt: options.clock.now() });
    return { Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id })), Failed: [] };
  });
  mock.on(GetQueueAttributesCommand).callsFake((input) => ({
    Attributes: { ApproximateNumberOfMessages: String(queue(input.QueueUrl).filter((m) => m.visibleAt <= options.clock.now()).length) },
  }));
  mock.on(ReceiveMessageCommand).callsFake((input) => {
    const q = queue(input.QueueUrl);
    const now = options.clock.now();
    const out = [];
    for (const message of [...q]) {
      if (out.length >= (input.MaxNumberOfMessages ?? 1) || message.visibleAt > now) continue;
      if (message.receiveCount >= options.maxReceiveCount) {
        q.splice(q.indexOf(message), 1);
        deadLetters.push(message.body);
        continue;
      }
      message.receiveCount++;
      message.visibleAt = now + options.visibilityTimeoutMs;
      message.receipt = `receipt-${serial++}`;
      out.push({ ReceiptHandle: message.receipt, Body: message.body, Attributes: { ApproximateReceiveCount: String(message.receiveCount) } });
    }
    return { Messages: out };
  });
  mock.on(DeleteMessageBatchCommand).callsFake((input) => {
    const q = queue(input.QueueUrl);
    for (const entry of input.Entries) {
      const at = q.findIndex((m) => m.receipt === entry.ReceiptHandle);
      if (at >= 0) q.splice(at, 1);
    }
    return { Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id })), Failed: [] };
  });
  return { client, deadLetters, restore: () => mock.restore() };
}
