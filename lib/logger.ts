/**
 * The broker's structured logger (Powertools). Log lines carry ids, provider
 * names and error codes, never a token, code, client secret or key.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'oauth-token-broker' });
