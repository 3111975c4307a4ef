/**
 * The pages people see: the "Connected" page, and every refusal on the install and callback
 * routes. Each error page says what happened and, where the broker knows the install, a way on.
 * The rules (docs/operations.md, "Pages for people"):
 *
 * - a **public** install that failed at the callback offers **Start again** (the same public
 *   link, with its return_to): a new consent can work;
 * - a **signed** link that is still valid says to open it again (the broker never stores the
 *   link, so it cannot offer it); a signed link that is **used up or expired** cannot start again:
 *   only the app can mint a new one, so the page offers **Back to the app** when the link carried a
 *   return_to, and otherwise says to ask the app;
 * - when the broker does not know the install (the state is gone, the link does not verify), the
 *   message says to open the install link again, and nothing else is offered;
 * - a server-side **misconfiguration** (`configuration_error`: a malformed secret, no signing
 *   key…) tells the person the app is misconfigured, that it is not their doing, and whom to
 *   tell, with a reference to quote; the log line says exactly what is wrong. A provider with no
 *   app in this deployment yet (`provider_not_configured`: no secret, or the deploy-time
 *   placeholder; a 404) says the same in its own words, and its refusal line says what to fix.
 *
 * Every page: one `h1`, a `main` landmark, text at AA contrast, no horizontal scroll at 375 px,
 * no script, and a CSP that allows only inline style and the logo's origin
 * (test/e2e/pages.test.ts runs axe-core on each).
 */
import { textColorOn, type Branding } from '../branding';
import { errorBody, errorStatus, isBrokerError, type InstallAttempt } from '../errors';
import { escapeHtml, SECURITY_HEADERS, type HttpResponse } from './responses';

/** A link on a page; the first is drawn as the main button. */
export interface PageAction {
  href: string;
  label: string;
}

export interface PageContent {
  status: number;
  /** The `<title>` and the `h1`. */
  title: string;
  /** Plain text, one paragraph each. */
  paragraphs: string[];
  actions?: PageAction[];
  /** What to quote to support, one line each: the error code and the request's correlation id, or the connection id. */
  references?: Array<{ label: string; value: string }>;
}

/** What every page is drawn with: the operator's branding and the request's correlation id. */
export interface PageContext {
  branding?: Branding;
  /** The request's correlation id (also on its log lines): what a person quotes to support. */
  correlationId?: string;
}

/** The page as an HTTP response, with a CSP that allows nothing but inline style and the logo. */
export function renderPage(content: PageContent, branding: Branding = {}): HttpResponse {
  const appName = branding.appName;
  const title = appName ? `${content.title} – ${appName}` : content.title;
  const accent = branding.color ?? '#0969da';
  const onAccent = branding.color ? textColorOn(branding.color) : '#ffffff';
  const band =
    appName || branding.logoUrl || branding.color
      ? `<header class="band"><div class="inner">${branding.logoUrl ? `<img src="${escapeHtml(branding.logoUrl)}" alt="${appName ? '' : 'Logo'}" height="32">` : ''}${appName ? `<span>${escapeHtml(appName)}</span>` : ''}</div></header>`
      : '';
  const [primary, ...others] = content.actions ?? [];
  const actions = primary
    ? `<p class="actions"><a class="button" href="${escapeHtml(primary.href)}">${escapeHtml(primary.label)}</a>${others
        .map((action) => ` <a href="${escapeHtml(action.href)}">${escapeHtml(action.label)}</a>`)
        .join('')}</p>`
    : '';
  const reference = (content.references ?? []).map((line) => `<p class="reference">${escapeHtml(line.label)}: <code>${escapeHtml(line.value)}</code></p>`).join('');
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1f2328;background:#ffffff}
.band{background:${accent};color:${onAccent}}
.band .inner,main{max-width:36rem;margin:0 auto;padding:0 1rem}
.band .inner{display:flex;align-items:center;gap:.75rem;min-height:3.5rem;font-weight:600;font-size:1.1rem}
.band img{max-height:2rem;width:auto}
main{padding-top:2.5rem;padding-bottom:2rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
p{margin:0 0 1rem;overflow-wrap:anywhere}
a{color:#0550ae}
a:focus-visible{outline:3px solid #1f2328;outline-offset:2px}
.actions{display:flex;flex-wrap:wrap;gap:.75rem 1.25rem;align-items:center;margin-top:1.5rem}
.button{display:inline-block;background:${accent};color:${onAccent};padding:.6rem 1.1rem;border-radius:6px;text-decoration:none;font-weight:600}
.reference{color:#59636e;font-size:.9rem}
code{background:#f3f4f6;color:#1f2328;padding:.1rem .3rem;border-radius:4px;overflow-wrap:anywhere}
</style></head>
<body>${band}<main>
<h1>${escapeHtml(content.title)}</h1>
${content.paragraphs.map((text) => `<p>${escapeHtml(sentence(text))}</p>`).join('\n')}
${actions}${reference}
</main></body></html>`;
  const imgSrc = branding.logoUrl ? new URL(branding.logoUrl).origin : "'none'";
  return {
    statusCode: content.status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; img-src ${imgSrc}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      ...SECURITY_HEADERS,
    },
    body,
  };
}

/** API messages end without a full stop; on a page they read as sentences. */
function sentence(text: string): string {
  return /[.!?)]$/.test(text) ? text : `${text}.`;
}

/** "Connected": what the callback redirects to after storing the connection (and what a reload shows). */
export function connectedPage(result: { connectionId: string; providerName: string }, context: PageContext = {}): HttpResponse {
  const app = context.branding?.appName;
  return renderPage(
    {
      status: 200,
      title: 'Connected',
      paragraphs: [`Your ${result.providerName} account is connected${app ? ` to ${app}` : ''}. You can close this window.`],
      references: [{ label: 'Connection', value: result.connectionId }],
    },
    context.branding,
  );
}

/** A "Connected" page reopened after its result expired: the connection is not affected. */
export function connectedExpiredPage(context: PageContext = {}): HttpResponse {
  return renderPage(
    {
      status: 410,
      title: 'This page has expired',
      paragraphs: ['It showed the result of connecting an account a while ago and no longer does. The connection itself is not affected. You can close this window.'],
    },
    context.branding,
  );
}

/** The page for any error on a route people visit (install, callback, connected). */
export function errorPage(err: unknown, context: PageContext = {}): HttpResponse {
  const status = errorStatus(err);
  const attempt = isBrokerError(err) ? err.installAttempt : undefined;
  const { error } = errorBody(err);
  const app = context.branding?.appName;
  const support = supportAction(context.branding);
  const references = [{ label: 'Error', value: error.code }, ...(context.correlationId ? [{ label: 'Reference', value: context.correlationId }] : [])];
  const back = attempt?.returnTo ? [{ href: withParams(attempt.returnTo, { error_code: error.code, provider: attempt.provider }), label: `Back to ${app ?? 'the app'}` }] : [];

  // Server-side problems (a provider with no app here yet, a misconfiguration) are nothing the
  // person did: the page says so, and whom to tell with the reference.
  const serverSide = (title: string, what: string): HttpResponse =>
    renderPage(
      {
        status,
        title,
        paragraphs: [
          `${what} It is nothing you did, and trying again will not help until it is fixed.`,
          support
            ? `Please tell ${app ?? 'the app'}'s support, and mention the reference below.`
            : `Please tell whoever gave you this link (the team behind ${app ?? 'the app'}), and mention the reference below.`,
        ],
        actions: [...(support ? [support] : []), ...back],
        references,
      },
      context.branding,
    );
  if (isBrokerError(err, 'provider_not_configured')) {
    const named = err.details?.provider;
    const provider = typeof named === 'string' ? named : (attempt?.provider ?? 'this provider');
    return serverSide(`${app ?? 'This app'} cannot connect to ${provider} yet`, `Connecting a ${provider} account is not configured in ${app ?? 'this app'} yet.`);
  }
  if (isBrokerError(err, 'configuration_error')) {
    return serverSide(`${app ?? 'This app'} is not set up correctly`, `Your account could not be connected because of a problem in how ${app ?? 'the app'} is set up.`);
  }

  const exposed = isBrokerError(err) && err.expose;
  const paragraphs = [exposed ? error.message : 'The account could not be connected because of a problem on our side. Nothing was changed.'];
  const actions: PageAction[] = [];
  const way = wayOn(attempt, error.code);
  if (way.startAgain) actions.push(way.startAgain);
  // A function, not a string: String.replace reads $& and $' in a replacement string as patterns, and the app name is the operator's text.
  if (way.advice) paragraphs.push(way.advice.replace('{app}', () => app ?? 'the app'));
  actions.push(...back);
  if (support) actions.push(support);
  return renderPage(
    {
      status,
      title: status >= 500 ? 'Something went wrong' : 'The connection could not be made',
      paragraphs,
      actions,
      references,
    },
    context.branding,
  );
}

/** The rules of the module comment: where starting again can work, and what to say where it cannot. */
function wayOn(attempt: InstallAttempt | undefined, code: string): { startAgain?: PageAction; advice?: string } {
  if (!attempt) return {};
  if (attempt.link === 'public') {
    // Relative: every page that carries an attempt is served beside the install route (/oauth/{provider}/…).
    const query = attempt.returnTo ? `?${new URLSearchParams({ return_to: attempt.returnTo })}` : '';
    return { startAgain: { href: `install${query}`, label: 'Start again' } };
  }
  if (attempt.linkSpent) {
    // The used/expired refusals already say to ask the app; other failures on a spent link do not.
    const said = code === 'install_link_used' || code === 'install_link_expired';
    return attempt.returnTo || said ? {} : { advice: 'This link cannot be used again: ask {app} for a new one.' };
  }
  return { advice: 'To try again, open the install link {app} gave you once more.' };
}

function supportAction(branding: Branding | undefined): PageAction | undefined {
  if (!branding?.supportUrl) return undefined;
  return { href: branding.supportUrl, label: branding.appName ? `Contact ${branding.appName} support` : 'Contact support' };
}

/** `base` with `params` set in its query (the app's return_to keeps its own parameters). */
export function withParams(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}
