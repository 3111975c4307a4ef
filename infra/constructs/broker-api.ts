/**
 * The broker's HTTP API (API Gateway v2), built from the one routes table
 * (lib/http/routes.ts): the public OAuth routes a customer's browser follows, and the admin
 * routes behind IAM (SigV4) authorization. One `$default` stage with throttling and JSON
 * access logs that never record a query string (the callback's carries the one-time `code`
 * and `state`).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ROUTES, type RouteHandlerName } from '../../lib/http/routes';

export interface CustomDomainProps {
  /** e.g. `auth.example.com`; the callback URL becomes `https://<domainName>/oauth/<provider>/callback`. */
  domainName: string;
  /** ACM certificate for `domainName`, in the stack's region. */
  certificateArn: string;
}

/** The function behind each handler name of the routes table. */
export interface BrokerApiProps extends Record<RouteHandlerName, lambda.IFunction> {
  customDomain?: CustomDomainProps;
  /** Stage-wide steady-state requests per second. @default 50 */
  throttleRateLimit?: number;
  /** @default 100 */
  throttleBurstLimit?: number;
  logRetention: logs.RetentionDays;
}

export class BrokerApi extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly domainName?: apigw.DomainName;
  readonly #publicUrl: string;

  constructor(scope: Construct, id: string, props: BrokerApiProps) {
    super(scope, id);

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'oauth-token-broker: OAuth install/callback (public) and admin (IAM) routes',
      // The stage is declared below, to give it throttling and access logs.
      createDefaultStage: false,
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (props.customDomain) {
      this.domainName = new apigw.DomainName(this, 'DomainName', {
        domainName: props.customDomain.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
        securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      });
    }

    this.#publicUrl = props.customDomain ? `https://${props.customDomain.domainName}` : this.httpApi.apiEndpoint;

    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 50, burstLimit: props.throttleBurstLimit ?? 100 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
      domainMapping: this.domainName ? { domainName: this.domainName } : undefined,
    });

    // One integration per function; admin routes behind IAM, public ones open (see the acknowledgement).
    const iam = new HttpIamAuthorizer();
    const integrations = new Map<RouteHandlerName, HttpLambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.handler);
      if (!integration) {
        integration = new HttpLambdaIntegration(capitalized(route.handler), props[route.handler]);
        integrations.set(route.handler, integration);
      }
      const methods = [apigw.HttpMethod[route.method]];
      if (route.auth === 'admin') {
        this.httpApi.addRoutes({ path: route.path, methods, integration, authorizer: iam });
        continue;
      }
      for (const added of this.httpApi.addRoutes({ path: route.path, methods, integration })) {
        Validations.of(added).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            "OAuth install and redirect endpoints are opened by the customer's browser, coming from the marketplace and the provider's consent page; they cannot carry credentials. Each callback is authenticated by a single-use, 10-minute state nonce consumed with a conditional delete (plus PKCE where the provider supports it); the Connected page shows only an HMAC-signed result (a connection id, never a secret); and the stage is throttled.",
        });
      }
    }
  }

  /** Base URL users and providers see: the custom domain when there is one. */
  get publicUrl(): string {
    return this.#publicUrl;
  }
}

/**
 * HTTP API access-log fields: who called which route, how it went. `$context.path` has no
 * query string; `userArn` names the IAM caller of an admin route.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  userArn: '$context.identity.userArn',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

function capitalized(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
