/**
 * The local dashboard: one static page. The admin key travels in the URL fragment
 * (`/#key=…`), which browsers never send to a server, and is used as a bearer token
 * for the admin API from the page itself.
 */
import { escapeHtml } from '../http/responses';

export function dashboardPage(installableProviders: string[]): string {
  const installLinks = installableProviders
    .map((key) => `<li><a href="/oauth/${encodeURIComponent(key)}/install">Connect ${escapeHtml(key)}</a> <code>/oauth/${escapeHtml(key)}/install</code></li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>oauth-token-broker — local</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem;table-layout:auto}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;font-size:14px;vertical-align:top;overflow-wrap:anywhere}
th,td.time,td.actions{white-space:nowrap}
th{background:#f6f8fa}code{background:#f3f4f6;padding:.05rem .3rem;border-radius:4px}
.active{color:#1a7f37}.needs_reauth{color:#bf8700}.revoked{color:#cf222e}#msg{color:#cf222e}
.circuit-open,.circuit-half_open{color:#cf222e}
button{font:inherit;padding:.15rem .6rem}
</style></head>
<body>
<h1>oauth-token-broker <small>(local)</small></h1>
<p id="msg"></p>
<h2>Install</h2><ul>${installLinks}</ul>
<h2>Connections</h2>
<table><thead><tr><th>id</th><th>provider</th><th>tenant</th><th>status</th><th>scopes</th><th>expires</th><th>refresh due</th><th>last error</th><th>provider health</th><th></th></tr></thead><tbody id="connections"></tbody></table>
<h2>Events <small>(since this process started)</small></h2>
<table><thead><tr><th>at</th><th>type</th><th>connection</th><th>provider</th><th>detail</th></tr></thead><tbody id="events"></tbody></table>
<script>
const key = new URLSearchParams(location.hash.slice(1)).get('key') || sessionStorage.getItem('broker-admin-key');
if (key) { sessionStorage.setItem('broker-admin-key', key); history.replaceState(null, '', location.pathname); }
const msg = document.getElementById('msg');
const time = (iso) => iso ? iso.replace('T', ' ').replace(/\\.\\d+Z$/, 'Z') : '';
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]);
async function api(method, path, body) {
  const res = await fetch(path, { method, headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error ? data.error.code + ': ' + data.error.message : res.status);
  return data;
}
// The provider's circuit: closed (with any failures counted), or open until its next probe.
function health(h) {
  if (!h) return '<td></td>';
  const text = h.circuit === 'closed' ? (h.failures > 0 ? 'closed, ' + h.failures + ' failing' : 'ok') : h.circuit.replace('_', '-') + ', next probe ' + time(h.next_probe_at);
  return '<td class="circuit-' + esc(h.circuit) + '">' + esc(text) + '</td>';
}
async function refresh() {
  if (!key) { msg.textContent = 'Open the dashboard URL printed by npm start (it carries the admin key).'; return; }
  try {
    const { connections } = await api('GET', '/connections?limit=200');
    document.getElementById('connections').innerHTML = connections.map((c) => '<tr><td><code>' + esc(c.id) + '</code></td><td>' + esc(c.provider) + '</td><td>' + esc(c.tenant) +
      '</td><td class="' + esc(c.status) + '">' + esc(c.status) + '</td><td>' + esc(c.scopes.join(' ')) + '</td><td class="time">' + esc(time(c.expires_at)) + '</td><td class="time">' + esc(time(c.refresh_due_at)) +
      '</td><td>' + esc(c.last_error ? c.last_error.code + ' ' + (c.last_error.providerCode || '') : '') + '</td>' + health(c.provider_health) + '<td class="actions">' +
      (c.status === 'active' ? '<button data-refresh="' + esc(c.id) + '">refresh</button> <button data-revoke="' + esc(c.id) + '">revoke</button>' : '') + '</td></tr>').join('');
    const { events } = await api('GET', '/events');
    document.getElementById('events').innerHTML = events.slice().reverse().map((e) => '<tr><td class="time">' + esc(time(new Date(e.at).toISOString())) + '</td><td>' + esc(e.type) + '</td><td><code>' +
      esc(e.detail.connection_id) + '</code></td><td>' + esc(e.detail.provider) + '</td><td>' + esc(Object.entries(e.detail).filter(([k]) => k !== 'connection_id' && k !== 'provider').map(([k, v]) => k + '=' + v).join(', ')) + '</td></tr>').join('');
    msg.textContent = '';
  } catch (err) { msg.textContent = String(err.message || err); }
}
document.getElementById('connections').addEventListener('click', async (event) => {
  const t = event.target;
  if (!(t instanceof HTMLButtonElement)) return;
  try {
    if (t.dataset.refresh) { await api('POST', '/connections/' + encodeURIComponent(t.dataset.refresh) + '/token', { force_refresh: true }); }
    if (t.dataset.revoke) {
      // Revoking also revokes the grant at the provider: the customer must install again.
      if (!confirm('Revoke ' + t.dataset.revoke + '? The provider grant is revoked too; the customer must install again.')) return;
      await api('DELETE', '/connections/' + encodeURIComponent(t.dataset.revoke));
    }
  } catch (err) { msg.textContent = String(err.message || err); }
  refresh();
});
refresh(); setInterval(refresh, 5000);
</script>
</body></html>`;
}
