/** `npm start`: the whole broker on this machine, with the sandbox provider ready to connect. */
import { logger } from '../logger';
import { LocalStartError, startLocalBroker, type LocalBroker } from './runtime';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The banner below says what a person needs; per-request INFO lines would bury it. (Set after the
// imports, which already built the logger, hence setLogLevel rather than the variable alone.)
if (!process.env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel('WARN');

let local: LocalBroker;
try {
  local = await startLocalBroker();
} catch (err) {
  // One line that says what to do, not a stack: a busy port, a data directory in use, a wrong key.
  // The whole error (stack, causes) only when asked for with POWERTOOLS_LOG_LEVEL=DEBUG.
  if (process.env.POWERTOOLS_LOG_LEVEL === 'DEBUG') console.error(err);
  console.error(err instanceof LocalStartError ? err.message : `npm start: ${err instanceof Error ? err.message : String(err)}`.split('\n')[0]);
  process.exit(1);
}
const bar = '─'.repeat(72);
// The admin key appears once, in the dashboard URL's fragment (browsers never send it to a server).
const key = local.adminKeyFile ? `$(cat ${local.adminKeyFile})` : '$BROKER_ADMIN_KEY';
console.log(`${bar}
 oauth-token-broker is running (local, embedded stand-ins)

 Dashboard      ${local.dashboardUrl}
 Install link   ${local.installUrl}   (public: creates a new connection)
 Sandbox IdP    ${local.sandbox.issuer}

 List connections:
   curl -H "Authorization: Bearer ${key}" ${local.url}/connections
 A signed install link for your customer (names the connection):
   curl -X POST -H "Authorization: Bearer ${key}" ${local.url}/install-links -d '{"provider":"sandbox","connection_id":"acme-1"}'
 Get a token:
   curl -X POST -H "Authorization: Bearer ${key}" ${local.url}/connections/<id>/token
${bar}`);

const stop = async (): Promise<void> => {
  await local.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
