/**
 * The broker's alarms on its own metrics, and a CloudWatch dashboard of them. The functions write
 * the metrics as CloudWatch Embedded Metric Format (lib/adapters/emf-metrics.ts) under
 * `namespace`, each per provider and fleet-wide, always with the `service` dimension; this
 * construct reads exactly those (the names come from lib/ports, the same constants the code
 * records with). docs/operations.md says what each alarm means and what to do.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BROKER_METRICS, FAILED_REFRESH_OUTCOMES, REFRESH_OUTCOMES, type BrokerMetricName } from '../../lib/ports';

/** When the metric alarms fire. */
export interface BrokerAlarmThresholds {
  /** Failed refreshes (provider unavailable, timeout, error, or internal) across providers in one period. @default 5 */
  refreshFailures?: number;
  /** Connections newly marked needs_reauth across providers in one hour. @default 10 */
  needsReauthPerHour?: number;
  /**
   * The longest refresh lag (due → done) in a period, two periods running. @default what the lead
   * allows for the pipeline: 2 scheduler intervals + the queue delay (3 minutes by default); past it
   * only getToken's skew is left before tokens expire
   */
  refreshLag?: Duration;
}

export interface BrokerMonitoringProps {
  /** The CloudWatch namespace the functions write to (`BROKER_METRICS_NAMESPACE`). */
  namespace: string;
  /** The `service` dimension (`POWERTOOLS_SERVICE_NAME`). */
  serviceName: string;
  /** Enabled provider keys: one circuit alarm and one dashboard line each. */
  providers: readonly string[];
  /** The refresh scheduler's interval: the alarms' period (at least 5 minutes), and part of the default lag threshold. */
  scheduleInterval: Duration;
  /** The longest a refresh job may wait in its queue: part of the default lag threshold. */
  queueDelay: Duration;
  thresholds?: BrokerAlarmThresholds;
  /** The broker's functions by handler name (errors, duration and their log groups on the dashboard). */
  functions: Readonly<Record<string, { function: lambda.IFunction; logGroup: logs.ILogGroup }>>;
  httpApi: apigw.HttpApi;
  /** The refresh queues by provider and their dead-letter queue: graphed beside the refresh metrics. */
  refreshQueues?: ReadonlyMap<string, sqs.IQueue>;
  deadLetterQueue?: sqs.IQueue;
  /** Alarms defined elsewhere (the schedule's) to show with these on the dashboard. */
  otherAlarms?: readonly cloudwatch.IAlarm[];
  alarmTopic?: sns.ITopic;
  /** @default a name CloudFormation generates */
  dashboardName?: string;
}

export class BrokerMonitoring extends Construct {
  readonly refreshFailuresAlarm: cloudwatch.Alarm;
  readonly needsReauthAlarm: cloudwatch.Alarm;
  readonly refreshLagAlarm: cloudwatch.Alarm;
  /** The scheduler could not send jobs (a queue refused them). */
  readonly jobsRefusedAlarm: cloudwatch.Alarm;
  /** The scheduler skipped due items that do not read as connections. */
  readonly unreadableDueItemsAlarm: cloudwatch.Alarm;
  /** One per enabled provider: its fleet-wide circuit is open. */
  readonly circuitOpenAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BrokerMonitoringProps) {
    super(scope, id);
    const period = props.scheduleInterval.toSeconds() < 300 ? Duration.minutes(5) : props.scheduleInterval;
    const metric = (name: BrokerMetricName, dimensions: Record<string, string>, statistic: string, metricPeriod: Duration = period, label?: string) =>
      new cloudwatch.Metric({ namespace: props.namespace, metricName: name, dimensionsMap: { service: props.serviceName, ...dimensions }, statistic, period: metricPeriod, label });
    const thresholds = props.thresholds ?? {};
    const lagThreshold = thresholds.refreshLag ?? Duration.seconds(props.scheduleInterval.toSeconds() * 2 + props.queueDelay.toSeconds());

    // Fleet-wide views ({service, outcome}, {service}) are written by the EMF adapter: no math over providers.
    const failures = new cloudwatch.MathExpression({
      label: 'Failed refreshes',
      expression: FAILED_REFRESH_OUTCOMES.map((_, i) => `FILL(f${i}, 0)`).join(' + '),
      usingMetrics: Object.fromEntries(FAILED_REFRESH_OUTCOMES.map((outcome, i) => [`f${i}`, metric(BROKER_METRICS.refreshes, { outcome }, cloudwatch.Stats.SUM)])),
      period,
    });
    this.refreshFailuresAlarm = new cloudwatch.Alarm(this, 'RefreshFailuresAlarm', {
      alarmDescription: `oauth-token-broker: at least ${thresholds.refreshFailures ?? 5} refreshes failed in ${period.toMinutes()} minutes (provider unavailable, timeout, bad answer, or an internal error); tokens are kept until they expire. Split by provider and outcome on the dashboard; read the "refresh finished" log lines at WARN and ERROR.`,
      metric: failures,
      threshold: thresholds.refreshFailures ?? 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.needsReauthAlarm = new cloudwatch.Alarm(this, 'NeedsReauthAlarm', {
      alarmDescription: `oauth-token-broker: at least ${thresholds.needsReauthPerHour ?? 10} connections lost their grant in an hour and need their customers to install again (a provider revoked the app, a rotated client secret, a provider change). The connection.reauth_required events name them.`,
      metric: metric(BROKER_METRICS.needsReauth, {}, cloudwatch.Stats.SUM, Duration.hours(1)),
      threshold: thresholds.needsReauthPerHour ?? 10,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.refreshLagAlarm = new cloudwatch.Alarm(this, 'RefreshLagAlarm', {
      alarmDescription: `oauth-token-broker: refreshes are committed more than ${lagThreshold.toSeconds()} s after they were due, two periods running: more than the lead allows for the scheduler and the queues, so tokens may expire before they are refreshed. Look at the queue age alarms, the provider budgets (providerRefresh), throttling (backed_off) and the circuits.`,
      metric: metric(BROKER_METRICS.refreshLag, {}, cloudwatch.Stats.MAXIMUM),
      threshold: lagThreshold.toMilliseconds(),
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // What the scheduler used to say only in ERROR lines: jobs a queue refused, items it could not read.
    this.jobsRefusedAlarm = new cloudwatch.Alarm(this, 'RefreshJobsRefusedAlarm', {
      alarmDescription: `oauth-token-broker: a refresh queue refused jobs the scheduler sent (SQS throttling or an outage); those connections stay due and the next run sends them again. Split by provider on the dashboard; the scheduler's "the queue refused jobs" lines name the provider.`,
      metric: metric(BROKER_METRICS.jobsRefused, {}, cloudwatch.Stats.SUM),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.unreadableDueItemsAlarm = new cloudwatch.Alarm(this, 'UnreadableDueItemsAlarm', {
      alarmDescription: `oauth-token-broker: the refresh scheduler found due items that do not read as connections and skipped them (written by hand or by an older version); they will never be refreshed. The scheduler's ERROR line lists their ids: fix or delete them.`,
      metric: metric(BROKER_METRICS.unreadableDueItems, {}, cloudwatch.Stats.SUM),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The gauge is written on each transition (1 opened, 0 closed): missing data keeps the state.
    this.circuitOpenAlarms = Object.fromEntries(
      props.providers.map((provider) => [
        provider,
        new cloudwatch.Alarm(this, `CircuitOpenAlarm-${provider}`, {
          alarmDescription: `oauth-token-broker: ${provider}'s circuit is open: the fleet stopped calling its token endpoint after repeated provider-wide failures (one probe at a time). Tokens are served while valid; clears when a probe succeeds.`,
          metric: metric(BROKER_METRICS.circuitOpen, { provider }, cloudwatch.Stats.MAXIMUM, Duration.minutes(1)),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        }),
      ]),
    );

    const alarms = [this.refreshFailuresAlarm, this.needsReauthAlarm, this.refreshLagAlarm, this.jobsRefusedAlarm, this.unreadableDueItemsAlarm, ...Object.values(this.circuitOpenAlarms)];
    if (props.alarmTopic) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    const perProvider = (name: BrokerMetricName, statistic: string) => props.providers.map((provider) => metric(name, { provider }, statistic, period, provider));
    const hitRatio = props.providers.map(
      (provider, i) =>
        new cloudwatch.MathExpression({
          label: provider,
          expression: `100 * FILL(h${i}, 0) / (FILL(h${i}, 0) + FILL(m${i}, 0))`,
          usingMetrics: { [`h${i}`]: metric(BROKER_METRICS.cacheHits, { provider }, cloudwatch.Stats.SUM), [`m${i}`]: metric(BROKER_METRICS.cacheMisses, { provider }, cloudwatch.Stats.SUM) },
          period,
        }),
    );
    const functions = Object.entries(props.functions);
    const wide = { width: 8, height: 6 };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(24),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `# oauth-token-broker\nMetrics in \`${props.namespace}\` (service \`${props.serviceName}\`), per provider. What each alarm means: docs/operations.md in the oauth-token-broker package.`,
            width: 24,
            height: 2,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms, ...(props.otherAlarms ?? [])], width: 24, height: 4 })],
        [
          new cloudwatch.GraphWidget({ title: 'Installs per provider', left: perProvider(BROKER_METRICS.installs, cloudwatch.Stats.SUM), stacked: true, ...wide }),
          new cloudwatch.GraphWidget({
            title: 'Refreshes by outcome (all providers)',
            left: REFRESH_OUTCOMES.map((outcome) => metric(BROKER_METRICS.refreshes, { outcome }, cloudwatch.Stats.SUM, period, outcome)),
            stacked: true,
            ...wide,
          }),
          new cloudwatch.GraphWidget({ title: 'Refreshes per provider', left: perProvider(BROKER_METRICS.refreshes, cloudwatch.Stats.SUM), stacked: true, ...wide }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Refresh lag, due → done (ms)',
            left: [cloudwatch.Stats.p(50), cloudwatch.Stats.p(99), cloudwatch.Stats.MAXIMUM].map((statistic) => metric(BROKER_METRICS.refreshLag, {}, statistic, period, statistic)),
            leftAnnotations: [{ value: lagThreshold.toMilliseconds(), label: 'alarm', color: '#d62728' }],
            ...wide,
          }),
          new cloudwatch.GraphWidget({ title: 'Needs re-authorization per provider', left: perProvider(BROKER_METRICS.needsReauth, cloudwatch.Stats.SUM), stacked: true, ...wide }),
          new cloudwatch.GraphWidget({ title: 'Warm-cache hit ratio (%) per provider', left: hitRatio, leftYAxis: { min: 0, max: 100 }, ...wide }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Provider circuit (1 = open)',
            left: props.providers.map((provider) => metric(BROKER_METRICS.circuitOpen, { provider }, cloudwatch.Stats.MAXIMUM, Duration.minutes(1), provider)),
            leftYAxis: { min: 0, max: 1 },
            ...wide,
          }),
          new cloudwatch.GraphWidget({ title: 'Function errors', left: functions.map(([name, fn]) => fn.function.metricErrors({ period, label: name })), ...wide }),
          new cloudwatch.GraphWidget({
            title: 'API responses: 4xx and 5xx',
            left: [props.httpApi.metricClientError({ period, label: '4xx' }), props.httpApi.metricServerError({ period, label: '5xx' })],
            right: functions.map(([name, fn]) => fn.function.metricDuration({ period, statistic: cloudwatch.Stats.p(99), label: `${name} p99 ms` })),
            ...wide,
          }),
        ],
        ...(props.refreshQueues
          ? [
              [
                new cloudwatch.GraphWidget({
                  title: 'Refresh queues: age of the oldest job (s)',
                  left: [...props.refreshQueues].map(([provider, queue]) => queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: provider })),
                  leftAnnotations: [{ value: props.queueDelay.toSeconds(), label: 'alarm', color: '#d62728' }],
                  ...wide,
                }),
                new cloudwatch.GraphWidget({
                  title: 'Scheduler: jobs refused per provider, unreadable due items',
                  left: [
                    ...perProvider(BROKER_METRICS.jobsRefused, cloudwatch.Stats.SUM),
                    metric(BROKER_METRICS.unreadableDueItems, {}, cloudwatch.Stats.SUM, period, 'unreadable'),
                  ],
                  ...wide,
                }),
                new cloudwatch.GraphWidget({
                  title: 'Refresh jobs waiting, and in the dead-letter queue',
                  left: [...props.refreshQueues].map(([provider, queue]) => queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: provider })),
                  right: props.deadLetterQueue ? [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM, label: 'dead-letter' })] : [],
                  ...wide,
                }),
              ],
            ]
          : []),
        [
          new cloudwatch.LogQueryWidget({
            title: 'Errors and configuration problems (latest 50)',
            logGroupNames: functions.map(([, fn]) => fn.logGroup.logGroupName),
            queryLines: ['fields @timestamp, function_name, message, code, route, provider, problem, correlation_id', 'filter level = "ERROR"', 'sort @timestamp desc', 'limit 50'],
            width: 24,
            height: 8,
          }),
        ],
      ],
    });
  }
}
