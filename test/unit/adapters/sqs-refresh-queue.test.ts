import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseQueueUrls, SqsRefreshQueue } from '../../../lib/adapters/sqs-refresh-queue';
import { BrokerError } from '../../../lib/errors';
import type { RefreshJob } from '../../../lib/ports';

const URLS = { hubspot: 'https://sqs.eu-west-1.amazonaws.com/123/refresh-hubspot', rdstation: 'https://sqs.eu-west-1.amazonaws.com/123/refresh-rdstation' };
const job = (i: number, provider = 'hubspot'): RefreshJob => ({ connectionId: `c${i}`, provider, dueAt: 1_700_000_000_000 + i });
const body = (j: RefreshJob) => `{"connection_id":"${j.connectionId}","provider":"${j.provider}","due_at":${j.dueAt}}`;

describe('SqsRefreshQueue', () => {
  const sqs = mockClient(SQSClient);
  const client = new SQSClient({ region: 'eu-west-1' });
  const queue = () => new SqsRefreshQueue({ queueUrls: URLS, client, sleep: async () => undefined });

  beforeEach(() => sqs.reset());

  it("sends each provider's jobs to its own queue, ten per SendMessageBatch, bodies holding ids and times only", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const jobs = [...Array.from({ length: 12 }, (_, i) => job(i)), job(99, 'rdstation')];
    await queue().send(jobs);

    const inputs = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(3);
    expect(inputs).toContainEqual({ QueueUrl: URLS.hubspot, Entries: jobs.slice(0, 10).map((j, i) => ({ Id: String(i), MessageBody: body(j) })) });
    expect(inputs).toContainEqual({ QueueUrl: URLS.hubspot, Entries: jobs.slice(10, 12).map((j, i) => ({ Id: String(i), MessageBody: body(j) })) });
    expect(inputs).toContainEqual({ QueueUrl: URLS.rdstation, Entries: [{ Id: '0', MessageBody: body(job(99, 'rdstation')) }] });
  });

  it('sends again only the entries SQS refused (throttled), and succeeds when they go through', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1', SenderFault: false, Code: 'ThrottlingException' }] })
      .resolves({ Failed: [] });
    await queue().send([job(0), job(1), job(2)]);
    const inputs = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(inputs[1]).toEqual({ QueueUrl: URLS.hubspot, Entries: [{ Id: '1', MessageBody: body(job(1)) }] });
  });

  it('throws queue_unavailable when entries stay refused, after three attempts', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '0', SenderFault: false, Code: 'InternalError' }] });
    const sent = queue().send([job(0)]);
    await expect(sent).rejects.toBeInstanceOf(BrokerError);
    await expect(sent).rejects.toMatchObject({ code: 'queue_unavailable' });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('refuses a provider without a queue (configuration_error), sending nothing', async () => {
    await expect(queue().send([job(0, 'marketo')])).rejects.toMatchObject({ code: 'configuration_error' });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it("reads a queue's depth from ApproximateNumberOfMessages", async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '42' } });
    expect(await queue().depth('hubspot')).toBe(42);
    expect(sqs.commandCalls(GetQueueAttributesCommand)[0]!.args[0].input).toEqual({ QueueUrl: URLS.hubspot, AttributeNames: ['ApproximateNumberOfMessages'] });
  });

  it('receives up to ten jobs with their receive count, and leaves a message that is not a job for the dead-letter queue', async () => {
    sqs.on(ReceiveMessageCommand).resolves({
      Messages: [
        { ReceiptHandle: 'r1', Body: body(job(1)), Attributes: { ApproximateReceiveCount: '2' } },
        { ReceiptHandle: 'r2', Body: 'not json' },
      ],
    });
    expect(await queue().receive('hubspot', 25)).toEqual([{ ...job(1), receipt: 'r1', receiveCount: 2 }]);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input).toEqual({
      QueueUrl: URLS.hubspot,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      WaitTimeSeconds: 0,
    });
  });

  it('deletes by receipt handle, ten per DeleteMessageBatch', async () => {
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const received = Array.from({ length: 11 }, (_, i) => ({ ...job(i), receipt: `r${i}`, receiveCount: 1 }));
    await queue().delete('hubspot', received);
    const inputs = sqs.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { QueueUrl: URLS.hubspot, Entries: received.slice(0, 10).map((j, i) => ({ Id: String(i), ReceiptHandle: j.receipt })) },
      { QueueUrl: URLS.hubspot, Entries: [{ Id: '0', ReceiptHandle: 'r10' }] },
    ]);
  });
});

describe('parseQueueUrls (BROKER_REFRESH_QUEUES)', () => {
  it('reads provider=url pairs', () => {
    expect(parseQueueUrls(`hubspot=${URLS.hubspot}, rdstation=${URLS.rdstation}`)).toEqual(URLS);
  });

  it('refuses anything else', () => {
    expect(() => parseQueueUrls('hubspot')).toThrow(/BROKER_REFRESH_QUEUES/);
    expect(() => parseQueueUrls('hubspot=http://plain')).toThrow(/BROKER_REFRESH_QUEUES/);
  });
});
