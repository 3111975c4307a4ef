/**
 * The local dashboard: one static page. The admin key travels in the URL fragment
 * (`/#key=…`), which browsers never send to a server, and is used as a bearer token
 * for the admin API from the page itself.
 *
 * Each row shows its provider's fleet-wide health (the circuit of lib/connections/provider-circuit.ts).
 *
 * Made for everyone (test/e2e/pages.test.ts runs axe-core on it at desktop width and 375 px):
 * every message goes to one `role="status"` live region; each row's buttons are named after
 * their connection ("Refresh sandbox:acme"); the status colours reach AA contrast and the
 * status is also written out; below 64rem each row becomes a labelled card, so nothing scrolls
 * sideways; the 5-second poll redraws only what changed and gives focus back to the button that
 * had it. A refresh ends with a sentence saying what changed (the new expiry, the next due
 * time, the failure count). It lists every connection, following the list cursor page by page.
 */
import { createHash } from 'node:crypto';
import { escapeHtml, SECURITY_HEADERS, type HttpResponse } from '../http/responses';

/** The page's script, static so the CSP can allow exactly it by hash (no `unsafe-inline` on the page that holds the admin key). */
const SCRIPT = String.raw`
const key = new URLSearchParams(location.hash.slice(1)).get('key') || sessionStorage.getItem('broker-admin-key');
if (key) { sessionStorage.setItem('broker-admin-key', key); history.replaceState(null, '', location.pathname); }
const $ = (id) => document.getElementById(id);
const msg = $('msg');
let msgKind = '';
function say(text, kind) { msg.textContent = text; msgKind = kind || 'info'; msg.className = 'msg ' + msgKind; }
const time = (iso) => iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]);
async function api(method, path, body) {
  const res = await fetch(path, { method, headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error ? data.error.code + ': ' + data.error.message : String(res.status));
  return data;
}
const known = new Map();
const button = (action, id, label) => '<button type="button" data-action="' + action + '" data-id="' + esc(id) + '">' + label + '<span class="vh"> ' + esc(id) + '</span></button>';
// The content in one span: on a narrow screen the cell is a two-column grid (its label, its content).
const cell = (label, html, cls) => '<td data-label="' + label + '"' + (cls ? ' class="' + cls + '"' : '') + '><span>' + html + '</span></td>';
// The provider's fleet-wide circuit: ok, closed with failures counted, or open until its next probe.
function health(h) {
  if (!h) return '';
  if (h.circuit === 'closed') return h.failures > 0 ? 'ok, ' + h.failures + ' failing' : 'ok';
  return '<span class="circuit-open">' + esc(h.circuit.replace('_', '-')) + '</span>, next probe ' + esc(time(h.next_probe_at));
}
function connectionRow(c) {
  const actions = c.status === 'active' ? button('refresh', c.id, 'Refresh') + ' ' + button('revoke', c.id, 'Revoke') : '';
  const lastError = c.last_error ? c.last_error.code + (c.last_error.providerCode ? ' (' + c.last_error.providerCode + ')' : '') : '';
  return '<tr>' + cell('Connection', '<code>' + esc(c.id) + '</code> ' + button('copy', c.id, 'Copy id'), 'id') + cell('Provider', esc(c.provider)) + cell('Tenant', esc(c.tenant)) +
    cell('Status', '<span class="status ' + esc(c.status) + '">' + esc(c.status) + '</span>') + cell('Scopes', esc(c.scopes.join(' '))) +
    cell('Expires', esc(time(c.expires_at)), 'time') + cell('Refresh due', esc(time(c.refresh_due_at)), 'time') + cell('Last refresh', esc(time(c.last_refresh_at)), 'time') +
    cell('Failures', String(c.failure_count), 'number') + cell('Last error', esc(lastError)) + cell('Provider health', health(c.provider_health)) + cell('Actions', actions, 'actions') + '</tr>';
}
function eventRow(e) {
  const detail = Object.entries(e.detail).filter(([k]) => k !== 'connection_id' && k !== 'provider').map(([k, v]) => k + '=' + v).join(', ');
  return '<tr>' + cell('At', esc(time(new Date(e.at).toISOString())), 'time') + cell('Type', esc(e.type)) + cell('Connection', '<code>' + esc(e.detail.connection_id) + '</code>') +
    cell('Provider', esc(e.detail.provider)) + cell('Detail', esc(detail)) + '</tr>';
}
/** Redraws a table body only when its content changed, and gives focus back to the button that had it. */
function draw(tbody, html) {
  if (tbody.innerHTML === html) return;
  const active = document.activeElement;
  const focused = active && tbody.contains(active) && active.dataset.action ? active.dataset.action + '|' + active.dataset.id : '';
  tbody.innerHTML = html;
  if (!focused) return;
  for (const b of tbody.querySelectorAll('button')) if (b.dataset.action + '|' + b.dataset.id === focused) b.focus();
}
// Every page of the list, following its cursor (a page holds at most 200).
async function allConnections() {
  const all = [];
  let cursor;
  do {
    const page = await api('GET', '/connections?limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    all.push(...page.connections);
    cursor = page.cursor;
  } while (cursor);
  return all;
}
async function load() {
  if (!key) { say('Open the dashboard URL printed by npm start (it carries the admin key).', 'error'); return; }
  try {
    const connections = await allConnections();
    known.clear();
    for (const c of connections) known.set(c.id, c);
    $('connections-count').textContent = '(' + connections.length + ')';
    $('connections-empty').hidden = connections.length > 0;
    $('connections-table').hidden = connections.length === 0;
    draw($('connections'), connections.map(connectionRow).join(''));
    const { events } = await api('GET', '/events');
    $('events-empty').hidden = events.length > 0;
    $('events-table').hidden = events.length === 0;
    draw($('events'), events.slice().reverse().map(eventRow).join(''));
    if (msgKind === 'stale') say('');
  } catch (err) { say('Could not load the connections: ' + (err.message || err), 'stale'); }
}
function whatChanged(before, after, token) {
  const parts = [];
  if (!before || before.expires_at !== token.expires_at) parts.push('new access token, expires ' + time(token.expires_at) + (before && before.expires_at ? ' (was ' + time(before.expires_at) + ')' : ''));
  else parts.push('the access token and its expiry (' + time(token.expires_at) + ') did not change');
  if (after.refresh_due_at !== (before ? before.refresh_due_at : null)) parts.push('next refresh due ' + (after.refresh_due_at ? time(after.refresh_due_at) : 'not scheduled'));
  if (before && before.failure_count !== after.failure_count) parts.push('failures ' + before.failure_count + ' → ' + after.failure_count);
  return parts.join('; ');
}
async function act(action, id) {
  const path = '/connections/' + encodeURIComponent(id);
  if (action === 'copy') {
    try { await navigator.clipboard.writeText(id); say('Copied ' + id + ' to the clipboard.', 'ok'); }
    catch { say('Could not copy ' + id + ': select it in the table and copy it by hand.', 'error'); }
    return;
  }
  if (action === 'refresh') {
    const before = known.get(id);
    say('Refreshing ' + id + '…');
    try {
      const token = await api('POST', path + '/token', { force_refresh: true });
      const { connection } = await api('GET', path);
      say('Refreshed ' + id + ': ' + whatChanged(before, connection, token) + '.', 'ok');
    } catch (err) { say('Refresh of ' + id + ' failed: ' + (err.message || err), 'error'); }
  }
  if (action === 'revoke') {
    // Revoking also revokes the grant at the provider: the customer must install again.
    if (!confirm('Revoke ' + id + '? The provider grant is revoked too; the customer must install again.')) return;
    try {
      const result = await api('DELETE', path);
      say('Revoked ' + id + ' (at the provider: ' + result.provider_revocation.replace('_', ' ') + '). The customer must install again to reconnect.', 'ok');
    } catch (err) { say('Revoking ' + id + ' failed: ' + (err.message || err), 'error'); }
  }
  await load();
}
$('connections').addEventListener('click', (event) => {
  const b = event.target.closest('button[data-action]');
  if (b) act(b.dataset.action, b.dataset.id);
});
load(); setInterval(load, 5000);
`;

const SCRIPT_HASH = `sha256-${createHash('sha256').update(SCRIPT, 'utf8').digest('base64')}`;

/** The dashboard page's HTML for these installable providers. */
export function dashboardPage(installableProviders: string[]): string {
  const installLinks = installableProviders
    .map((key) => `<li><a href="/oauth/${encodeURIComponent(key)}/install">Connect ${escapeHtml(key)}</a> <code>/oauth/${escapeHtml(key)}/install</code></li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>oauth-token-broker — local</title>
<style>
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:80rem;padding:1rem;color:#1f2328;background:#ffffff}
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.muted{color:#59636e;font-weight:400}
a{color:#0550ae}
code{background:#f3f4f6;padding:.05rem .3rem;border-radius:4px;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #d0d7de;padding:.4rem .5rem;text-align:left;font-size:14px;vertical-align:top;overflow-wrap:break-word}
th{background:#f6f8fa;white-space:nowrap}
td.id code{overflow-wrap:anywhere}td.actions{white-space:nowrap}td.number{text-align:right}
.status{font-weight:600}.status.active{color:#1a7f37}.status.needs_reauth{color:#9a6700}.status.revoked{color:#cf222e}
.circuit-open{color:#cf222e;font-weight:600}
button{font:inherit;font-size:14px;padding:.2rem .65rem;margin:.1rem 0;border:1px solid #8c959f;border-radius:6px;background:#f6f8fa;color:#1f2328;cursor:pointer}
button:hover{background:#eaeef2}
:focus-visible{outline:3px solid #0969da;outline-offset:2px}
.msg{min-height:1.5rem;margin:0 0 1rem;padding:0}
.msg.ok,.msg.info{color:#1f2328}.msg.ok{border-left:4px solid #1a7f37;padding-left:.6rem}
.msg.error,.msg.stale{color:#cf222e;border-left:4px solid #cf222e;padding-left:.6rem}
.vh{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
@media (max-width:64rem){
  table,thead,tbody,tr,th,td{display:block}
  thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
  tr{border:1px solid #d0d7de;border-radius:6px;margin:0 0 .75rem;padding:.25rem .5rem}
  td{border:0;display:grid;grid-template-columns:7.5rem 1fr;gap:.5rem;padding:.2rem 0;white-space:normal}
  td.actions{white-space:normal}td.number{text-align:left}
  td::before{content:attr(data-label);font-weight:600;color:#59636e}
}
</style></head>
<body>
<header><h1>oauth-token-broker <span class="muted">(local)</span></h1></header>
<main>
<p id="msg" class="msg" role="status" aria-live="polite"></p>
<h2>Install</h2><ul>${installLinks}</ul>
<h2 id="connections-heading">Connections <span id="connections-count" class="muted"></span></h2>
<p id="connections-empty" hidden>No connections yet. Click <strong>Connect${installableProviders[0] ? ` ${escapeHtml(installableProviders[0])}` : ''}</strong> above to make one, or mint a signed install link with <code>POST /install-links</code>.</p>
<table id="connections-table" aria-labelledby="connections-heading"><thead><tr><th scope="col">Connection</th><th scope="col">Provider</th><th scope="col">Tenant</th><th scope="col">Status</th><th scope="col">Scopes</th><th scope="col">Expires</th><th scope="col">Refresh due</th><th scope="col">Last refresh</th><th scope="col">Failures</th><th scope="col">Last error</th><th scope="col">Provider health</th><th scope="col">Actions</th></tr></thead><tbody id="connections"></tbody></table>
<h2 id="events-heading">Events <span class="muted">(since this process started)</span></h2>
<p id="events-empty" hidden>No events yet.</p>
<table id="events-table" aria-labelledby="events-heading"><thead><tr><th scope="col">At</th><th scope="col">Type</th><th scope="col">Connection</th><th scope="col">Provider</th><th scope="col">Detail</th></tr></thead><tbody id="events"></tbody></table>
</main>
<script>${SCRIPT}</script>
</body></html>`;
}

/**
 * The dashboard as a response: its CSP runs only this page's own script (by hash) and lets it
 * talk only to this origin, so nothing injected into a row could read the admin key.
 */
export function dashboardResponse(installableProviders: string[]): HttpResponse {
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; script-src '${SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      ...SECURITY_HEADERS,
    },
    body: dashboardPage(installableProviders),
  };
}
