/**
 * The dashboard page: one HTML document, no build step. It polls /dashboard/state every 2 s and redraws; every
 * value from the server is set as text (never as HTML): reasons and evidence are written by operators and data.
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cutover dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
  :root { --ok: #1a7f37; --bad: #cf222e; --run: #0969da; --wait: #9a6700; --mute: #6e7781; --bg: #f6f8fa; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2328; background: #fff; }
  header { padding: 12px 20px; background: var(--bg); border-bottom: 1px solid #d0d7de; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; padding: 16px 20px; }
  section { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px; }
  section h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
  td:first-child, .badge { white-space: nowrap; }
  section { min-width: 0; }
  .txt { overflow-wrap: anywhere; min-width: 10em; }
  .wf { display: block; font-size: 11px; overflow-wrap: anywhere; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; }
  .s-done, .s-holds, .s-unified { background: var(--ok); } .s-failed, .s-blocked, .s-NOT, .s-aborted, .s-rolled-back { background: var(--bad); }
  .s-running { background: var(--run); } .s-paused, .s-waiting-approval, .s-throttled, .s-legacy { background: var(--wait); }
  .s-pending, .s-skipped, .s-stopped, .s-none { background: var(--mute); }
  .muted { color: var(--mute); } .err { color: var(--bad); } .okmsg { color: var(--ok); }
  .bar { height: 14px; background: #eaeef2; border-radius: 7px; overflow: hidden; } .bar > div { height: 100%; background: var(--run); }
  svg { width: 100%; height: 140px; background: #fbfcfd; }
  a { color: var(--run); } button { margin: 2px; } input, select { margin: 2px; }
  pre { max-height: 320px; overflow: auto; background: var(--bg); padding: 8px; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>cutover</h1>
  <span>cutover <b data-test="cutover-name">–</b> <span class="badge s-none" data-test="cutover-state">no cutover</span>
    at <b data-test="cutover-step">–</b> <span class="muted" data-test="cutover-live"></span></span>
  <span>reads: <span class="badge s-none" data-test="read-source">?</span></span>
  <span class="muted">updated <span data-test="updated">never</span></span>
  <a data-test="temporal-link" target="_blank" rel="noopener" href="#">Temporal Web UI</a>
</header>
<main>
  <section><h2>Phases</h2><div data-test="blocked" class="err"></div><table data-test="timeline"></table></section>
  <section><h2>Running phase</h2><div data-test="progress"><span class="muted">nothing running</span></div>
    <h2 style="margin-top:12px">Members per second (latest backfill)</h2><svg data-test="plot-rate" viewBox="0 0 400 140" preserveAspectRatio="none"></svg></section>
  <section><h2>Go/No-Go gates <span class="muted" data-test="gates-source"></span></h2><table data-test="gates"></table>
    <div data-test="evidence" style="margin-top:8px"></div></section>
  <section><h2>Read source</h2><div data-test="legacy-reads"></div><table data-test="trail"></table>
    <h2 style="margin-top:12px">Refresh reconciler</h2><div data-test="reconciler"></div></section>
  <section><h2>Operator actions</h2>
    <form onsubmit="return false"><input data-test="token" type="password" placeholder="bearer token (operate:cutover)" size="40" autocomplete="off">
      <input data-test="reason" placeholder="reason (on record)" size="30"></form>
    <div><select data-test="gate"><option>switch</option><option>dedupe</option><option>go-no-go</option><option>flag-removal</option></select>
      <button data-action="approve">approve</button> <label><input type="checkbox" data-test="force"> force</label></div>
    <div><button data-action="pause">pause</button><button data-action="resume">resume</button><button data-action="retry">retry</button>
      <button data-action="rollback">rollback</button><button data-action="cancel">cancel</button></div>
    <div data-test="action-result"></div>
    <h2 style="margin-top:12px">Log</h2><table data-test="actions"></table></section>
  <section><h2>Rerate Δrating (latest preview)</h2><svg data-test="plot-deltas" viewBox="0 0 400 140" preserveAspectRatio="none"></svg>
    <h2 style="margin-top:12px">Refresh latency (this API)</h2><svg data-test="plot-refresh" viewBox="0 0 400 140" preserveAspectRatio="none"></svg>
    <div class="muted" data-test="refresh-summary"></div></section>
</main>
<script>
'use strict';
const $ = (t) => document.querySelector('[data-test="' + t + '"]');
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') e.textContent = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
// a time of day in the tables (the full timestamp on hover)
const clock = (iso) => new Date(iso).toLocaleTimeString();
const clip = (t, n) => (t.length > n ? t.slice(0, n - 1) + '…' : t);
const badge = (s) => h('span', { class: 'badge s-' + s, text: s });
const fill = (el, ...rows) => el.replaceChildren(...rows);
const secs = (a, b) => { const s = Math.round(((b ? Date.parse(b) : Date.now()) - Date.parse(a)) / 1000); return s < 90 ? s + ' s' : Math.round(s / 60) + ' min'; };
const svgNs = 'http://www.w3.org/2000/svg';
const sv = (tag, attrs) => { const e = document.createElementNS(svgNs, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };
let ui = { base: '', ns: 'default' };
const wfLink = (id) => ui.base ? h('a', { class: 'wf', href: ui.base + '/namespaces/' + encodeURIComponent(ui.ns) + '/workflows/' + encodeURIComponent(id), target: '_blank', rel: 'noopener', text: id }) : h('span', { class: 'wf', text: id });

function bars(svg, values, labels, color) {
  const max = Math.max(1, ...values), w = 400 / Math.max(1, values.length);
  svg.replaceChildren(...values.flatMap((v, i) => {
    const bh = (v / max) * 110;
    const r = sv('rect', { x: i * w + 2, y: 120 - bh, width: Math.max(1, w - 4), height: bh, fill: color });
    r.append(sv('title', {})); r.firstChild.textContent = labels[i] + ': ' + v;
    const t = sv('text', { x: i * w + w / 2, y: 136, 'font-size': 9, 'text-anchor': 'middle' }); t.textContent = labels[i];
    return [r, t];
  }));
}
function line(svg, pts, empty) {
  if (pts.length < 2) {
    const t = sv('text', { x: 200, y: 70, 'font-size': 11, 'text-anchor': 'middle', fill: '#6e7781' });
    t.textContent = empty;
    svg.replaceChildren(t);
    return;
  }
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y1 = Math.max(1, ...ys);
  const d = pts.map((p, i) => (i ? 'L' : 'M') + (((p[0] - x0) / Math.max(1, x1 - x0)) * 390 + 5).toFixed(1) + ' ' + (125 - (p[1] / y1) * 115).toFixed(1)).join(' ');
  const lbl = sv('text', { x: 5, y: 12, 'font-size': 10 }); lbl.textContent = 'peak ' + Math.round(y1) + '/s';
  svg.replaceChildren(sv('path', { d, fill: 'none', stroke: '#0969da', 'stroke-width': 2 }), lbl);
}

function draw(s) {
  const st = s.status, c = st.cutover;
  ui = { base: (s.temporal.uiUrl || '').replace(/\\/$/, ''), ns: s.temporal.namespace };
  $('temporal-link').href = ui.base ? ui.base + '/namespaces/' + encodeURIComponent(ui.ns) + '/workflows' : '#';
  $('updated').textContent = new Date(s.at).toLocaleTimeString();
  fill($('read-source'), st.readSource); $('read-source').className = 'badge s-' + st.readSource;
  $('cutover-name').textContent = c ? c.name : '–';
  $('cutover-state').className = 'badge s-' + (c ? c.state : 'none');
  $('cutover-state').textContent = c ? c.state : 'no cutover';
  $('cutover-live').textContent = c && !c.live ? '(as last mirrored: the workflow did not answer)' : c && c.paused ? '(paused)' : '';
  $('cutover-step').textContent = c && c.step ? c.step : '–';
  $('blocked').textContent = c && c.blockedReason ? (c.state === 'blocked' ? 'blocked: ' : 'why: ') + c.blockedReason : '';
  fill($('timeline'), ...(c ? c.steps.map((x) => h('tr', { 'data-step': x.step },
    h('td', {}, x.step), h('td', {}, badge(x.status)),
    h('td', { class: 'muted' }, x.startedAt ? secs(x.startedAt, x.endedAt) : ''),
    h('td', { class: 'txt' }, x.status === 'skipped' ? 'skipped: ' + (x.skipReason || '') : (x.error || x.summary || ''),
      x.childWorkflowId ? wfLink(x.childWorkflowId) : ''))) : [h('tr', {}, h('td', { class: 'muted', text: 'no cutover yet: npm run cutover -- start' }))]));

  const b = st.backfill, r = st.rerates[0];
  if (b) {
    const pct = b.membersTotal ? Math.floor((100 * b.membersDone) / b.membersTotal) : 0;
    const eta = b.etaSeconds === null || b.state !== 'running' ? '–' : Math.ceil(b.etaSeconds) + ' s';
    fill($('progress'), h('div', {}, 'backfill ', badge(b.state), ' ' + pct + '% · ' + b.membersDone + '/' + b.membersTotal + ' members · ' +
      Math.round(b.membersPerSec) + '/s · ETA ' + eta + ' · ' + b.inFlight + '/' + b.concurrency + ' batches'),
      h('div', { class: 'bar' }, h('div', { style: 'width:' + pct + '%' })),
      b.state === 'throttled' && b.throttle ? h('div', { class: 'muted', text: 'throttled for live reads: ' + b.throttle.reasons.join('; ') }) : '');
  } else if (r) {
    const pct = r.eventsTotal ? Math.floor((100 * r.eventsDone) / r.eventsTotal) : 0;
    fill($('progress'), h('div', {}, 'rerate ' + (r.stream || '') + ' ', badge(r.state), ' ' + pct + '% · ' + r.eventsDone + '/' + r.eventsTotal +
      ' events · ETA ' + (r.etaSeconds === null || r.state !== 'running' ? '–' : Math.ceil(r.etaSeconds) + ' s')),
      h('div', { class: 'bar' }, h('div', { style: 'width:' + pct + '%' })));
  } else fill($('progress'), h('span', { class: 'muted', text: c && c.step ? c.step + ': ' + c.state : 'nothing running' }));

  const bf = s.backfill;
  if (bf && bf.points.length > 1) {
    const pts = [], p = bf.points.map((x) => [Date.parse(x.at) / 1000, x.members]);
    // the rate over the last few seconds at each commit (commits close together say little alone)
    for (let i = 1, j = 0; i < p.length; i++) {
      while (j < i - 1 && p[i][0] - p[j + 1][0] >= 3) j++;
      const dt = p[i][0] - p[j][0];
      if (dt >= 1) pts.push([p[i][0], (p[i][1] - p[j][1]) / dt]);
    }
    line($('plot-rate'), pts, 'too few batches over time to plot a rate');
  } else line($('plot-rate'), [], bf ? 'one batch so far: nothing to plot yet' : 'no backfill yet');

  $('gates-source').textContent = s.gates.source === 'cutover' ? '(as the cutover evaluated them' + (s.gates.at ? ' at ' + s.gates.at : '') + ')' : '(from stored evidence)';
  fill($('gates'), ...s.gates.gates.map((g) => h('tr', { 'data-gate': g.gate }, h('td', {}, g.gate), h('td', {}, badge(g.holds ? 'holds' : 'NOT')),
    h('td', {}, ...g.evidenceIds.flatMap((id) => [h('a', { href: '#', onclick: (e) => { e.preventDefault(); showEvidence(id); }, text: '#' + id }), ' '])),
    h('td', { class: 'muted txt' }, g.reason))));

  const lr = st.legacyReads, perRoute = lr.perRoute;
  fill($('legacy-reads'), 'legacy reads: ' + lr.total + (lr.lastReadAt ? ' (last ' + lr.lastReadAt + ')' : ''),
    ...Object.entries(perRoute).map(([k, v]) => h('div', { class: 'muted', text: k + ': ' + v })));
  fill($('trail'), ...s.readSourceTrail.slice(0, 8).map((t) => h('tr', {}, h('td', { class: 'muted', title: t.at }, clock(t.at)), h('td', {}, (t.from || '–') + ' → ' + t.to), h('td', {}, t.actor), h('td', { class: 'txt' }, t.reason))));
  const rc = st.reconciler;
  $('reconciler').textContent = rc.mark === null ? 'not started' : rc.behind + ' completed challenge(s) behind' + (rc.oldestBehind ? ', lag ' + secs(rc.oldestBehind) : '') + ' · mark ' + rc.mark;
  fill($('actions'), ...(c ? c.actions.slice(-12).reverse().map((a) => h('tr', {}, h('td', { class: 'muted', title: a.at }, clock(a.at)), h('td', {}, a.actor),
    h('td', {}, a.action + (a.step ? ' ' + a.step : '') + (a.forced ? ' (forced)' : '')), h('td', { class: 'txt', title: a.detail || '' }, clip(a.reason || a.detail || '', 140)))) : []));

  const rd = s.rerateDeltas;
  if (rd) bars($('plot-deltas'), rd.bands.map((x) => x.count), rd.bands.map((x) => x.from === null ? '≤' + x.to : x.to === null ? '≥' + x.from : x.from === x.to ? String(x.from) : x.from + '..' + x.to), '#8250df');
  else $('plot-deltas').replaceChildren();
  const rl = s.refreshLatency;
  bars($('plot-refresh'), rl.buckets.map((x, i) => x.count - (i ? rl.buckets[i - 1].count : 0)), rl.buckets.map((x) => '≤' + x.le + 's'), '#1a7f37');
  $('refresh-summary').textContent = rl.count + ' request(s): ' + Object.entries(rl.outcomes).map(([k, v]) => k + ' ' + v).join(', ');
}

async function showEvidence(id) {
  const box = $('evidence');
  const r = await fetch('/dashboard/evidence/' + id);
  const e = await r.json();
  if (!r.ok) { fill(box, h('span', { class: 'err', text: e.message || r.statusText })); return; }
  const cats = e.result && e.result.categories;
  const rows = cats ? Object.entries(cats).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, String(v.count)),
    h('td', { class: 'muted' }, JSON.stringify((v.examples || []).slice(0, 2))))) : [];
  fill(box, h('div', {}, h('b', { text: 'evidence #' + e.id + ' ' + e.kind + ' ' + (e.passed ? 'passed' : 'FAILED') }), ' ', wfLink(e.workflowId)),
    rows.length ? h('table', { 'data-test': 'evidence-categories' }, ...rows) : h('pre', { text: JSON.stringify(e.result, null, 2) }));
}

for (const btn of document.querySelectorAll('button[data-action]')) {
  btn.addEventListener('click', async () => {
    const action = btn.dataset.action, out = $('action-result');
    const token = $('token').value.trim(), reason = $('reason').value.trim();
    sessionStorage.setItem('cutover-token', token);
    const body = { action };
    if (reason) body.reason = reason;
    if (action === 'approve') { body.gate = $('gate').value; body.force = $('force').checked; }
    out.className = ''; out.textContent = action + '…';
    const r = await fetch('/dashboard/actions', { method: 'POST', headers: Object.assign({ 'content-type': 'application/json' }, token ? { authorization: 'Bearer ' + token } : {}), body: JSON.stringify(body) });
    const j = await r.json().catch(() => ({}));
    out.className = r.ok ? 'okmsg' : 'err';
    out.textContent = r.ok ? j.said : r.status + ' ' + (j.message || r.statusText);
    poll();
  });
}
$('token').value = sessionStorage.getItem('cutover-token') || '';

let timer;
async function poll() {
  clearTimeout(timer);
  try {
    const r = await fetch('/dashboard/state', { cache: 'no-store' });
    if (r.ok) draw(await r.json()); else $('updated').textContent = 'state unavailable (' + r.status + ')';
  } catch (e) { $('updated').textContent = 'unreachable: ' + e.message; }
  timer = setTimeout(poll, 2000);
}
poll();
</script>
</body>
</html>
`;
