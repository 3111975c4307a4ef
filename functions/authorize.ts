/** GET /oauth/{provider}/install — the install link: 302 to the provider's consent page. */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { brokerHttpErrors } from '../lib/http/middleware';
import { redirect, requestBaseUrl, type HttpResponse } from '../lib/http/responses';
import { sharedBroker } from '../lib/runtime';

export const handler = middy<APIGatewayProxyEventV2, HttpResponse>()
  .use(brokerHttpErrors('page'))
  .handler(async (event) => {
    const broker = await sharedBroker();
    const query = event.queryStringParameters ?? {};
    const authorizeUrl = await broker.startInstall({
      provider: event.pathParameters?.provider ?? '',
      connectionId: query.connection_id,
      returnTo: query.return_to,
      requestBaseUrl: requestBaseUrl(event),
    });
    return redirect(authorizeUrl.toString());
  });
