/**
 * The local server's own log lines (lib/local/server.ts): its answers of its own (no route, no
 * admin key, a body too large), which API Gateway gives on AWS. `logger` keeps the last
 * invocation's Lambda context after it ends (`resetKeys` clears only appended keys) and, while a
 * handler awaits, its correlation id; a line written through it between or beside invocations
 * named a request it was not about. This child is made as the module loads, before any
 * invocation, so no handler's context or keys ever reach it. It lives here, not in lib/logger.ts,
 * so that no Lambda bundle builds a second logger at every cold start.
 */
import { logger } from '../logger';

export const edgeLogger = logger.createChild();
