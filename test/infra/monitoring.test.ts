/**
 * The stack's alarms read the broker's own metrics (the EMF the functions write, names from
 * lib/ports, the same constants the code records with), never a log filter; the CloudWatch
 * dashboard shows those metrics and every alarm. test/integration/metrics.test.ts proves the
 * other half: a refresh writes the EMF record under exactly these namespace, names and dimensions.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { OAuthTokenBroker, SERVICE_NAME } from '../../infra/broker';
import { BROKER_METRICS, DEFAULT_METRICS_NAMESPACE, FAILED_REFRESH_OUTCOMES, REFRESH_OUTCOMES } from '../../lib/ports';
import { synthBroker, type Resource } from './support';

type Dimension = { Name: string; Value: unknown };
type MetricStat = { Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] }; Period: number; Stat: string };
type AlarmProps = {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Dimension[];
  Statistic?: string;
  Period?: number;
  Metrics?: Array<{ Id: string; Expression?: string; MetricStat?: MetricStat; ReturnData?: boolean }>;
  Threshold: number;
  EvaluationPeriods: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
};

const DEFAULT_PROVIDERS = ['hubspot', 'highlevel', 'rdstation', 'fracttal', 'marketo'];
/** cdk.json's stack is named OAuthTokenBroker: the namespace is per deployment. */
const NAMESPACE = `${DEFAULT_METRICS_NAMESPACE}/OAuthTokenBroker`;
const dims = (map: Record<string, string>): Dimension[] =>
  Object.entries({ service: SERVICE_NAME, ...map })
    .map(([Name, Value]) => ({ Name, Value }))
    .sort((a, b) => a.Name.localeCompare(b.Name));
const sorted = (dimensions: Dimension[] | undefined) => [...(dimensions ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));

let template: Template;
let alarms: Record<string, AlarmProps>;

function alarmOn(metricName: string, dimensions: Record<string, string>): AlarmProps {
  const found = Object.values(alarms).filter((a) => a.MetricName === metricName && a.Namespace === NAMESPACE && JSON.stringify(sorted(a.Dimensions)) === JSON.stringify(dims(dimensions)));
  if (found.length !== 1) throw new Error(`expected one alarm on ${metricName} ${JSON.stringify(dimensions)}, found ${found.length}`);
  return found[0]!;
}

/** The dashboard body with each CloudFormation token written as `<Ref:X>` / `<GetAtt:X>`, parsed. */
function dashboardBody(t: Template): { widgets: Array<{ type: string; properties: Record<string, unknown> }> } {
  const dashboards = Object.values(t.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]!.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = part as Record<string, unknown>;
      if ('Ref' in token) return `<Ref:${String(token.Ref)}>`;
      if ('Fn::GetAtt' in token) return `<GetAtt:${(token['Fn::GetAtt'] as string[])[0]}>`;
      return `<${Object.keys(token)[0]}>`;
    })
    .join('');
  return JSON.parse(text);
}

beforeAll(() => {
  template = synthBroker().template;
  alarms = Object.fromEntries(Object.entries(template.findResources('AWS::CloudWatch::Alarm')).map(([id, r]) => [id, (r as Resource).Properties as AlarmProps]));
});

describe('alarms on the broker\'s metrics', () => {
  it('no alarm reads a log filter any more: no metric filter, and every alarm metric is AWS\'s or one the broker records in its namespace', () => {
    template.resourceCountIs('AWS::Logs::MetricFilter', 0);
    const known = new Set<string>(Object.values(BROKER_METRICS));
    for (const [id, alarm] of Object.entries(alarms)) {
      const metrics = alarm.Metrics ? alarm.Metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : [])) : [{ Namespace: alarm.Namespace!, MetricName: alarm.MetricName! }];
      expect(metrics.length, id).toBeGreaterThan(0);
      for (const metric of metrics) {
        if (metric.Namespace.startsWith('AWS/')) continue;
        expect(metric.Namespace, id).toBe(NAMESPACE);
        expect(known.has(metric.MetricName), `${id}: ${metric.MetricName}`).toBe(true);
      }
    }
  });

  it('the functions write where the alarms read: BROKER_METRICS_NAMESPACE and the service name on every function', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resource[];
    const brokerFunctions = functions.filter((f) => (f.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.BROKER_TABLE_NAME);
    expect(brokerFunctions.length).toBeGreaterThanOrEqual(4);
    for (const fn of brokerFunctions) {
      expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({ BROKER_METRICS_NAMESPACE: NAMESPACE, POWERTOOLS_SERVICE_NAME: SERVICE_NAME });
    }
  });

  it('failed refreshes: the fleet-wide Refreshes of each failed outcome, summed per 5 minutes, at 5 or more', () => {
    const found = Object.entries(alarms).filter(([, a]) => a.Metrics?.some((m) => m.MetricStat?.Metric.MetricName === BROKER_METRICS.refreshes));
    expect(found).toHaveLength(1);
    const alarm = found[0]![1];
    const stats = alarm.Metrics!.filter((m) => m.MetricStat).map((m) => m.MetricStat!);
    expect(stats.map((s) => ({ namespace: s.Metric.Namespace, name: s.Metric.MetricName, dimensions: sorted(s.Metric.Dimensions), period: s.Period, stat: s.Stat }))).toEqual(
      FAILED_REFRESH_OUTCOMES.map((outcome) => ({ namespace: NAMESPACE, name: 'Refreshes', dimensions: dims({ outcome }), period: 300, stat: 'Sum' })),
    );
    const expression = alarm.Metrics!.find((m) => m.Expression)!;
    expect(expression).toMatchObject({ ReturnData: true });
    for (const m of alarm.Metrics!.filter((x) => x.MetricStat)) expect(expression.Expression).toContain(`FILL(${m.Id}, 0)`);
    expect(alarm).toMatchObject({ Threshold: 5, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
  });

  it('needs_reauth: fleet-wide NeedsReauth summed per hour, at 10 or more', () => {
    expect(alarmOn(BROKER_METRICS.needsReauth, {})).toMatchObject({ Statistic: 'Sum', Period: 3600, Threshold: 10, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  it('refresh lag: the fleet-wide maximum RefreshLag above what the lead allows the pipeline (2 scheduler intervals + the queue delay: 180,000 ms), two periods running', () => {
    expect(alarmOn(BROKER_METRICS.refreshLag, {})).toMatchObject({ Statistic: 'Maximum', Period: 300, Threshold: 180_000, EvaluationPeriods: 2, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
  });

  it('the scheduler: fleet-wide RefreshJobsRefused and UnreadableDueItems, each at 1 or more in a period', () => {
    expect(alarmOn(BROKER_METRICS.jobsRefused, {})).toMatchObject({ Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    expect(alarmOn(BROKER_METRICS.unreadableDueItems, {})).toMatchObject({ Statistic: 'Sum', Period: 300, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
  });

  it.each(DEFAULT_PROVIDERS)('%s\'s circuit: ProviderCircuitOpen at 1 in a minute; missing data keeps the state (the gauge is written on transitions)', (provider) => {
    expect(alarmOn(BROKER_METRICS.circuitOpen, { provider })).toMatchObject({ Statistic: 'Maximum', Period: 60, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'ignore' });
  });

  it('every metric alarm says what it means and what to do', () => {
    const described = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.includes('Monitoring'));
    expect(described.length).toBe(5 + DEFAULT_PROVIDERS.length);
    for (const [id, r] of described) expect(String((r as Resource).Properties.AlarmDescription), id).toMatch(/^oauth-token-broker: .{60,}/);
  });
});

describe('the CloudWatch dashboard', () => {
  let widgets: ReturnType<typeof dashboardBody>['widgets'];
  beforeAll(() => {
    widgets = dashboardBody(template).widgets;
  });
  const graph = (title: string) => {
    const found = widgets.filter((w) => w.type === 'metric' && w.properties.title === title);
    expect(found, title).toHaveLength(1);
    return found[0]!.properties as { metrics: unknown[][]; annotations?: { horizontal?: Array<{ value: number }> } };
  };
  /** A metric line of a graph as [namespace, name, dimension, value, …] without its rendering options. */
  const lines = (title: string) => graph(title).metrics.map((line) => line.filter((part) => typeof part === 'string'));

  it('shows every alarm of the stack in one alarm widget', () => {
    const status = widgets.filter((w) => w.type === 'alarm');
    expect(status).toHaveLength(1);
    expect(new Set(status[0]!.properties.alarms as string[])).toEqual(new Set(Object.keys(alarms).map((id) => `<GetAtt:${id}>`)));
  });

  it('graphs refreshes by each outcome across providers, and per provider', () => {
    expect(lines('Refreshes by outcome (all providers)')).toEqual(REFRESH_OUTCOMES.map((outcome) => [NAMESPACE, 'Refreshes', 'outcome', outcome, 'service', SERVICE_NAME]));
    expect(lines('Refreshes per provider')).toEqual(DEFAULT_PROVIDERS.map((provider) => [NAMESPACE, 'Refreshes', 'provider', provider, 'service', SERVICE_NAME]));
  });

  it('graphs installs and needs_reauth per provider, the circuit of each provider, and the lag with its alarm line', () => {
    expect(lines('Installs per provider')).toEqual(DEFAULT_PROVIDERS.map((provider) => [NAMESPACE, 'Installs', 'provider', provider, 'service', SERVICE_NAME]));
    expect(lines('Needs re-authorization per provider')).toEqual(DEFAULT_PROVIDERS.map((provider) => [NAMESPACE, 'NeedsReauth', 'provider', provider, 'service', SERVICE_NAME]));
    expect(lines('Provider circuit (1 = open)')).toEqual(DEFAULT_PROVIDERS.map((provider) => [NAMESPACE, 'ProviderCircuitOpen', 'provider', provider, 'service', SERVICE_NAME]));
    expect(lines('Refresh lag, due → done (ms)')).toEqual([0, 1, 2].map(() => [NAMESPACE, 'RefreshLag', 'service', SERVICE_NAME]));
    expect(graph('Refresh lag, due → done (ms)').annotations?.horizontal?.[0]?.value).toBe(180_000);
  });

  it('graphs each provider queue\'s oldest job with the age alarm\'s line, the jobs waiting, and the dead-letter queue', () => {
    const queues = Object.entries(template.findResources('AWS::SQS::Queue')).filter(([, r]) => (r as Resource).Properties.RedrivePolicy);
    const deadLetter = Object.keys(template.findResources('AWS::SQS::Queue')).filter((id) => !queues.some(([q]) => q === id));
    expect(queues).toHaveLength(DEFAULT_PROVIDERS.length);
    expect(deadLetter).toHaveLength(1);
    const queueLines = (title: string) => lines(title).map((line) => [line[0], line[1], line[3]]);
    const queueNames = queues.map(([id]) => `<GetAtt:${id}>`);
    expect(queueLines('Refresh queues: age of the oldest job (s)')).toEqual(queueNames.map((name) => ['AWS/SQS', 'ApproximateAgeOfOldestMessage', name]));
    expect(graph('Refresh queues: age of the oldest job (s)').annotations?.horizontal?.[0]?.value).toBe(60);
    expect(queueLines('Refresh jobs waiting, and in the dead-letter queue')).toEqual(
      [...queueNames, `<GetAtt:${deadLetter[0]}>`].map((name) => ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', name]),
    );
  });

  it('graphs the jobs a queue refused per provider and the unreadable due items', () => {
    expect(lines('Scheduler: jobs refused per provider, unreadable due items')).toEqual([
      ...DEFAULT_PROVIDERS.map((provider) => [NAMESPACE, 'RefreshJobsRefused', 'provider', provider, 'service', SERVICE_NAME]),
      [NAMESPACE, 'UnreadableDueItems', 'service', SERVICE_NAME],
    ]);
  });

  it('graphs the warm-cache hit ratio per provider from TokenCacheHits and TokenCacheMisses', () => {
    const ratio = lines('Warm-cache hit ratio (%) per provider');
    for (const provider of DEFAULT_PROVIDERS) {
      expect(ratio).toContainEqual([NAMESPACE, 'TokenCacheHits', 'provider', provider, 'service', SERVICE_NAME]);
      expect(ratio).toContainEqual([NAMESPACE, 'TokenCacheMisses', 'provider', provider, 'service', SERVICE_NAME]);
    }
  });

  it('lists the latest error lines of every function\'s log group', () => {
    const logs = widgets.filter((w) => w.type === 'log');
    expect(logs).toHaveLength(1);
    const query = String(logs[0]!.properties.query);
    const logGroups = Object.values(template.findResources('AWS::Lambda::Function'))
      .map((f) => ((f as Resource).Properties.LoggingConfig as { LogGroup?: { Ref: string } } | undefined)?.LogGroup?.Ref)
      .filter((ref): ref is string => ref !== undefined);
    expect(logGroups.length).toBeGreaterThanOrEqual(4);
    for (const id of logGroups) expect(query).toContain(`<Ref:${id}>`);
    expect(query).toContain('filter level = "ERROR"');
  });
});

describe('as a construct: thresholds, notifications, names', () => {
  it('takes its thresholds, namespace and dashboard name from props, and notifies the topic on alarm and on OK', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Consumer');
    const topic = new sns.Topic(stack, 'Ops');
    new OAuthTokenBroker(stack, 'Broker', {
      providers: ['hubspot'],
      alarmTopic: topic,
      metricsNamespace: 'Acme/Broker',
      dashboardName: 'acme-broker',
      alarmThresholds: { refreshFailures: 20, needsReauthPerHour: 3, refreshLag: Duration.minutes(30) },
    });
    const t = Template.fromStack(stack);
    const topicRef = { Ref: Match.stringLikeRegexp('^Ops') };
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'NeedsReauth', Namespace: 'Acme/Broker', Threshold: 3, AlarmActions: [topicRef], OKActions: [topicRef] });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RefreshLag', Namespace: 'Acme/Broker', Threshold: 1_800_000, AlarmActions: [topicRef] });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', AlarmActions: [topicRef] });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ProviderCircuitOpen', Dimensions: Match.arrayWith([{ Name: 'provider', Value: 'hubspot' }]), AlarmActions: [topicRef] });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 20, Metrics: Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'Acme/Broker', MetricName: 'Refreshes' }) }) })]), AlarmActions: [topicRef] });
    t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'acme-broker' });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ BROKER_METRICS_NAMESPACE: 'Acme/Broker' }) } });
    // One circuit alarm per enabled provider, no more.
    expect(Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ProviderCircuitOpen' } }))).toHaveLength(1);
  });
});
