/**
 * The refresh sweep's trigger and its safety net: an EventBridge rule on a fixed rate
 * invoking the refresh function asynchronously; one encrypted SQS queue receiving both
 * the events EventBridge could not deliver (target DLQ) and the invocations that failed
 * (the function's on-failure destination); alarms on sweep errors and on that queue. What the
 * sweep's refreshes did is alarmed on the broker's own metrics (monitoring.ts).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface RefreshScheduleProps {
  refresh: lambda.IFunction;
  /** Time between sweeps; also `BROKER_SWEEP_INTERVAL_S`. */
  interval: Duration;
  /** Alarm notifications; alarms exist either way. */
  alarmTopic?: sns.ITopic;
}

export class RefreshSchedule extends Construct {
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly sweepErrorsAlarm: cloudwatch.Alarm;
  readonly deadLetterAlarm: cloudwatch.Alarm;

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
        'This queue is itself the dead-letter destination of the refresh schedule (EventBridge target DLQ and Lambda on-failure destination); nothing consumes it automatically, so a dead-letter queue for it would never receive anything. Its depth is alarmed.',
    });

    // A failed sweep is not retried by Lambda: the next scheduled sweep picks up whatever is
    // still due, and a retry storm against a failing provider is what the design forbids.
    props.refresh.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: props.interval,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });

    this.rule = new events.Rule(this, 'Rule', {
      description: 'oauth-token-broker: sweep connections whose tokens are due for refresh',
      schedule: events.Schedule.rate(props.interval),
      targets: [
        new targets.LambdaFunction(props.refresh, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          maxEventAge: props.interval,
        }),
      ],
    });

    const period = props.interval.toSeconds() < 60 ? Duration.minutes(1) : props.interval;
    this.sweepErrorsAlarm = new cloudwatch.Alarm(this, 'SweepErrorsAlarm', {
      alarmDescription:
        'oauth-token-broker: the refresh sweep failed (uncaught error or timeout); tokens due for refresh are not being refreshed. See the refresh function logs.',
      metric: props.refresh.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'oauth-token-broker: a scheduled refresh sweep was not delivered or failed; the event is in the dead-letter queue.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmTopic) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of [this.sweepErrorsAlarm, this.deadLetterAlarm]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}
