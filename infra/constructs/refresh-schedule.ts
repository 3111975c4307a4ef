/**
 * Refresh at scale: an EventBridge rule runs the refresh scheduler every minute; the scheduler sends
 * what is due to one SQS queue per provider; each queue feeds the refresh worker through its own event
 * source mapping, whose maximum concurrency is the number of workers the provider's budget is shared
 * by (partial batch failures reported, so only a job that was not settled comes back). Jobs received
 * too often without being settled move to one shared dead-letter queue. Alarms: a queue whose oldest
 * job waits longer than the queue delay the lead allows for, anything in the dead-letter queue, and
 * errors of either function (docs/design.md, "Refresh at scale").
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { REFRESH_BATCH } from '../../lib/connections/refresh-worker';
import { pascalId } from '../construct-id';

/** Receives of a job that was never settled before it moves to the dead-letter queue (AWS advises at least 5 behind an event source mapping). */
export const REFRESH_MAX_RECEIVES = 5;

export interface RefreshQueueSpec {
  /** The provider key (`BROKER_REFRESH_QUEUES` names its queue by it). */
  provider: string;
  /** Maximum concurrency of the queue's event source mapping: the workers the provider's budget is shared by (`refreshWorkersFor`). */
  workers: number;
}

export interface RefreshScheduleProps {
  scheduler: lambda.IFunction;
  worker: lambda.Function;
  /** The worker's log group: error-level lines there are refresh failures the worker survived. */
  workerLogGroup: logs.ILogGroup;
  /** The scheduler's log group: error-level lines there are due items it skipped (unreadable) or jobs a queue refused. */
  schedulerLogGroup?: logs.ILogGroup;
  /** Time between scheduler runs; also `BROKER_SCHEDULER_INTERVAL_S`. */
  interval: Duration;
  /** One queue per provider. */
  queues: readonly RefreshQueueSpec[];
  /** The longest a job may wait in a queue (the lead allows for it): the age alarm's threshold. */
  queueDelay: Duration;
  /** Alarm notifications; alarms exist either way. */
  alarmTopic?: sns.ITopic;
}

export class RefreshSchedule extends Construct {
  readonly rule: events.Rule;
  /** Each provider's queue, by provider key. */
  readonly queues: ReadonlyMap<string, sqs.Queue>;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedulerErrorsAlarm: cloudwatch.Alarm;
  readonly workerErrorsAlarm: cloudwatch.Alarm;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly refreshErrorLogsAlarm: cloudwatch.Alarm;
  /** One per provider queue: its oldest job waited longer than the queue delay. */
  readonly queueAgeAlarms: ReadonlyMap<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: RefreshScheduleProps) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the refresh queues: refresh jobs a worker received five times without settling land here for an operator to read. Nothing consumes it automatically, so a dead-letter queue for it would never receive anything. Its depth is alarmed.',
    });

    // AWS advises a visibility timeout of six times the function timeout behind an event source mapping.
    const visibilityTimeout = Duration.seconds(6 * (props.worker.timeout ?? Duration.seconds(60)).toSeconds());
    const queues = new Map<string, sqs.Queue>();
    const ageAlarms = new Map<string, cloudwatch.Alarm>();
    for (const spec of props.queues) {
      const queue = new sqs.Queue(this, `Queue${pascalId(spec.provider)}`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout,
        // A job older than this is moot: its connection is still due and a later scheduler run sends it again.
        retentionPeriod: Duration.days(1),
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: REFRESH_MAX_RECEIVES },
      });
      props.worker.addEventSource(
        new eventSources.SqsEventSource(queue, {
          batchSize: REFRESH_BATCH,
          maxConcurrency: spec.workers,
          reportBatchItemFailures: true,
        }),
      );
      queues.set(spec.provider, queue);
      ageAlarms.set(
        spec.provider,
        new cloudwatch.Alarm(this, `QueueAgeAlarm${pascalId(spec.provider)}`, {
          alarmDescription: `oauth-token-broker: refresh jobs for ${spec.provider} wait longer than the lead allows for (${props.queueDelay.toSeconds()} s); its workers do not keep up with the connections due, or are failing. Raise the provider's budget (providerRefresh) or look at the refresh worker logs.`,
          metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
          threshold: props.queueDelay.toSeconds(),
          evaluationPeriods: 2,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.queues = queues;
    this.queueAgeAlarms = ageAlarms;

    // A failed scheduler run is not retried: the next run, a minute later, reads the index again and
    // finds everything still due. A retry would only overlap it.
    props.scheduler.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: props.interval });
    this.rule = new events.Rule(this, 'Rule', {
      description: 'oauth-token-broker: send connections whose tokens are due for refresh to the refresh queues',
      schedule: events.Schedule.rate(props.interval),
      targets: [new targets.LambdaFunction(props.scheduler, { retryAttempts: 0, maxEventAge: props.interval })],
    });

    const period = props.interval.toSeconds() < 60 ? Duration.minutes(1) : props.interval;
    const errorsAlarm = (alarmId: string, fn: lambda.IFunction, description: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric: fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.schedulerErrorsAlarm = errorsAlarm(
      'SchedulerErrorsAlarm',
      props.scheduler,
      'oauth-token-broker: the refresh scheduler failed (uncaught error or timeout); connections due for refresh are not being queued. See the refresh-scheduler function logs.',
    );
    this.workerErrorsAlarm = errorsAlarm(
      'WorkerErrorsAlarm',
      props.worker,
      'oauth-token-broker: the refresh worker failed whole batches (uncaught error or timeout). See the refresh-worker function logs.',
    );
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'oauth-token-broker: refresh jobs were received five times without being settled and are in the dead-letter queue (the store or KMS failing, or a poison message). Read them, fix the cause, then purge the queue.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The worker survives a single connection's failure (it records it and settles the job), and the
    // scheduler a due item that does not read as a connection (it skips it), so those show up only in
    // their logs: count the error-level lines of both into one metric (Powertools and Lambda both log
    // JSON with `level`).
    const errorLineFilter = (filterId: string, logGroup: logs.ILogGroup) =>
      new logs.MetricFilter(this, filterId, {
        logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.level', '=', 'ERROR'),
        metricNamespace: 'OAuthTokenBroker',
        metricName: 'RefreshErrorLogLines',
        metricValue: '1',
        defaultValue: 0,
      });
    const errorLogs = errorLineFilter('RefreshErrorLogs', props.workerLogGroup);
    if (props.schedulerLogGroup) errorLineFilter('SchedulerErrorLogs', props.schedulerLogGroup);
    this.refreshErrorLogsAlarm = new cloudwatch.Alarm(this, 'RefreshErrorLogsAlarm', {
      alarmDescription:
        'oauth-token-broker: the refresh worker or scheduler logged errors (a provider or the store failed while refreshing connections, or a due item does not read as a connection). Search the refresh-worker and refresh-scheduler function logs for level ERROR.',
      metric: errorLogs.metric({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmTopic) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of [this.schedulerErrorsAlarm, this.workerErrorsAlarm, this.deadLetterAlarm, this.refreshErrorLogsAlarm, ...ageAlarms.values()]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /** `hubspot=<url>,highlevel=<url>`: the queues as `BROKER_REFRESH_QUEUES` names them to the scheduler. */
  get queueUrlsVariable(): string {
    return [...this.queues].map(([provider, queue]) => `${provider}=${queue.queueUrl}`).join(',');
  }
}
