// RpcShield live page: polls /status once a second and renders it. No external requests.
(() => {
  'use strict';

  const HISTORY = 300; // samples kept per upstream (5 minutes at one per second)
  const INTERVAL_MS = 1000;

  // The token (`/ui?token=…`) stays in this closure only: it is removed from the address bar and
  // history at once and sent to /status as an Authorization header, never in a URL.
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  if (token !== null) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }

  const history_ = new Map(); // "chain/upstream" -> [{ t, lat, health }]
  let lastOk = 0;

  const $ = (id) => document.getElementById(id);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const svg = (tag, attrs) => {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  };

  const fmtInt = (n) => (typeof n === 'number' && n >= 0 ? n.toLocaleString('en-US') : '—');
  const fmtMs = (n) => (typeof n !== 'number' ? '—' : n >= 100 ? Math.round(n) + '' : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  const pct = (r) => (typeof r === 'number' ? Math.round(r * 100) + '%' : '—');
  const healthColor = (hs) => ({ healthy: '#22c55e', lagging: '#f5a524', unhealthy: '#ef4444', wrongchain: '#ef4444' }[hs] || '#94a3b8');

  function setConn(state, text) {
    const c = $('conn');
    c.dataset.state = state;
    $('conn-text').textContent = text;
  }

  function record(status) {
    const now = Date.now();
    const seen = new Set();
    for (const chain of status.chains || []) {
      for (const u of chain.upstreams || []) {
        const key = chain.name + '/' + u.name;
        seen.add(key);
        let h = history_.get(key);
        if (!h) history_.set(key, (h = []));
        const lat = typeof u.latency_p50_ms === 'number' ? u.latency_p50_ms : (u.latency_ewma_ms > 0 ? u.latency_ewma_ms : null);
        h.push({ t: now, lat, health: u.health });
        if (h.length > HISTORY) h.splice(0, h.length - HISTORY);
      }
    }
    for (const key of history_.keys()) if (!seen.has(key)) history_.delete(key); // removed by a reload
  }

  // Latency line over the kept samples, with a strip below coloured by health at each sample.
  function sparkline(key, health) {
    const W = 160, H = 30, STRIP = 4;
    const samples = history_.get(key) || [];
    const el = svg('svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img' });
    const values = samples.map((s) => s.lat).filter((v) => typeof v === 'number');
    const max = Math.max(1, ...values) * 1.15;
    // Until 5 minutes are kept the samples so far stretch across the box; then they scroll through it.
    const step = W / (Math.min(HISTORY, Math.max(2, samples.length)) - 1);
    const x0 = W - (samples.length - 1) * step;
    const y = (v) => (H - STRIP - 2) - (v / max) * (H - STRIP - 4);
    el.append(svg('line', { x1: 0, x2: W, y1: H - STRIP - 1.5, y2: H - STRIP - 1.5, stroke: '#223044', 'stroke-width': 1 }));
    let path = '';
    let pen = false;
    samples.forEach((s, i) => {
      if (typeof s.lat !== 'number') { pen = false; return; }
      path += (pen ? 'L' : 'M') + (x0 + i * step).toFixed(1) + ' ' + y(s.lat).toFixed(1) + ' ';
      pen = true;
    });
    const drawn = samples.map((s, i) => [i, s.lat]).filter(([, v]) => typeof v === 'number');
    if (drawn.length > 1) {
      const base = (H - STRIP - 1.5).toFixed(1);
      const area = 'M' + (x0 + drawn[0][0] * step).toFixed(1) + ' ' + base + ' '
        + drawn.map(([i, v]) => 'L' + (x0 + i * step).toFixed(1) + ' ' + y(v).toFixed(1)).join(' ')
        + ' L' + (x0 + drawn[drawn.length - 1][0] * step).toFixed(1) + ' ' + base + ' Z';
      el.append(svg('path', { d: area, fill: healthColor(health), opacity: 0.12, stroke: 'none' }));
    }
    if (path) {
      el.append(svg('path', { d: path, fill: 'none', stroke: healthColor(health), 'stroke-width': 1.6, 'stroke-linejoin': 'round', 'vector-effect': 'non-scaling-stroke' }));
    }
    // Runs of equal health as one rect each.
    let start = 0;
    for (let i = 1; i <= samples.length; i++) {
      if (i === samples.length || samples[i].health !== samples[start].health) {
        el.append(svg('rect', { x: (x0 + start * step - step / 2).toFixed(1), y: H - STRIP, width: ((i - start) * step).toFixed(1), height: STRIP, fill: healthColor(samples[start].health), opacity: 0.85 }));
        start = i;
      }
    }
    const last = values.length ? values[values.length - 1] : null;
    const title = svg('title', {});
    title.textContent = last === null ? 'no latency samples yet' : `p50 ${fmtMs(last)} ms, max shown ${fmtMs(Math.max(...values))} ms`;
    el.append(title);
    return el;
  }

  function breakerCell(u) {
    const s = (u.circuit && u.circuit.state) || 'closed';
    const cls = s === 'open' ? 'bad' : s === 'half_open' ? 'warn' : 'dim';
    return h('div', { class: 'c-breaker', 'data-label': 'breaker' }, h('span', { class: 'state ' + cls, title: u.circuit && u.circuit.last_fault ? 'last fault: ' + u.circuit.last_fault : null }, s.replace('_', '-')));
  }

  function throttleCell(u) {
    const t = u.throttle || {};
    let text = 'none', cls = 'dim';
    if (t.active) { text = 'throttled ' + (t.remaining_ms >= 1000 ? (t.remaining_ms / 1000).toFixed(1) + 's' : Math.round(t.remaining_ms) + 'ms'); cls = 'warn'; }
    else if (t.max_rps > 0) text = '≤ ' + t.max_rps + ' rps';
    return h('div', { class: 'c-throttle', 'data-label': 'throttle' }, h('span', { class: 'state ' + cls }, text));
  }

  function upstreamRow(chain, u, rank, maxScore) {
    const key = chain.name + '/' + u.name;
    const lag = typeof u.lag === 'number' ? u.lag : 0;
    const lagCls = lag === 0 ? 'lag-0' : lag <= 2 ? 'lag-warn' : 'lag-bad';
    const scoreW = maxScore > 0 ? Math.max(2, Math.round((u.score / maxScore) * 100)) : 0;
    return h('div', { class: 'row up', 'data-upstream': u.name, 'data-health': u.health },
      h('div', { class: 'c-rank rank' + (rank ? '' : ' none'), title: rank ? 'rank ' + rank : 'not routable' }, rank ? '#' + rank : '–'),
      h('div', { class: 'c-name uname', title: u.url || '' }, u.name, u.tier ? h('span', { class: 'tier' }, u.tier) : null,
        u.health !== 'healthy' && u.last_error ? h('span', { class: 'err' }, u.last_error) : null,
        u.diverged ? h('span', { class: 'err' }, 'diverged from the other nodes') : null),
      h('div', { class: 'c-health', 'data-label': 'health' }, h('span', { class: 'pill h-' + u.health, 'data-health': u.health }, u.health)),
      h('div', { class: 'c-score score', 'data-label': 'score' }, h('span', { class: 'num' }, (u.score || 0).toFixed(3)), h('span', { class: 'bar' }, h('i', { style: null }))),
      h('div', { class: 'c-head num right', 'data-label': 'head' }, fmtInt(u.head)),
      h('div', { class: 'c-lag num right ' + lagCls, 'data-label': 'lag' }, u.head >= 0 ? String(lag) : '—'),
      h('div', { class: 'c-lat lat num right', 'data-label': 'p50 / p90 ms' }, fmtMs(u.latency_p50_ms), h('small', null, ' / ' + fmtMs(u.latency_p90_ms))),
      h('div', { class: 'c-spark', 'data-label': 'latency, last 5 min' }, sparkline(key, u.health)),
      breakerCell(u),
      throttleCell(u),
      h('div', { class: 'c-flight num right', 'data-label': 'in flight' }, String(u.in_flight ?? 0)),
      h('div', { class: 'c-okfail okfail num right', 'data-label': 'ok / failed' }, fmtInt(u.window_ok), ' / ', h('span', { class: u.window_failed > 0 ? 'f' : '' }, fmtInt(u.window_failed))));
  }

  function rateCell(label, rate, counts, cls) {
    const r = typeof rate === 'number' ? rate : null;
    const tone = r === null ? '' : r >= 0.9 ? 'r-ok' : r >= 0.6 ? 'r-warn' : 'r-bad';
    const bar = h('span', { class: 'bar' }, h('i', { class: tone }));
    bar.firstChild.style.width = r === null ? '0' : Math.max(2, Math.round(r * 100)) + '%';
    return h('div', { class: cls + ' rate', 'data-label': label }, h('span', { class: 'pct' }, pct(r)), bar, h('span', { class: 'counts' }, counts));
  }

  function reasonsOf(b) {
    const r = b.reasons || b.bundle_reasons;
    if (!r) return [];
    if (Array.isArray(r)) return r.map((x) => (typeof x === 'string' ? [x, null] : [x.reason || x.name, x.count]));
    return Object.entries(r);
  }

  function buildersBlock(chain) {
    const builders = chain.builders || [];
    const box = h('div', null, h('div', { class: 'section-title' }, 'Builders' + (typeof chain.bundles_pending === 'number' ? ` · ${chain.bundles_pending} bundle(s) pending` : '')));
    if (!builders.length) { box.append(h('div', { class: 'empty' }, 'no builders configured')); return box; }
    box.append(h('div', { class: 'brow head' }, h('div', null, 'builder'), h('div', null, 'accepted'), h('div', null, 'included'), h('div', null, 'errors')));
    for (const b of builders) {
      const row = h('div', { class: 'brow', 'data-builder': b.name },
        h('div', { class: 'c-bname uname' }, b.name, b.sign ? h('span', { class: 'tier' }, 'signed') : null),
        rateCell('accepted', b.success_rate, `${fmtInt(b.ok)}/${fmtInt(b.submissions)}`, 'c-succ'),
        rateCell('included', b.inclusion_rate, `${fmtInt(b.included)}/${fmtInt((b.included || 0) + (b.not_included || 0) + (b.lost || 0))}`, 'c-incl'),
        h('div', { class: 'counts', 'data-label': 'errors' }, `err ${fmtInt(b.error)} · to ${fmtInt(b.timeout)} · 429 ${fmtInt(b.throttled)}`));
      const reasons = reasonsOf(b);
      if (reasons.length) row.append(h('div', { class: 'reasons' }, reasons.map(([k, v]) => h('span', { class: 'reason' }, k, v === null || v === undefined ? null : h('b', null, ' ' + v)))));
      box.append(row);
    }
    // Why bundles missed on this chain, whoever built the block (rpcshield_getBundleStatus verdicts).
    const missed = reasonsOf({ reasons: chain.bundle_reasons });
    if (missed.length) box.append(h('div', { class: 'brow', 'data-chain-reasons': '' }, h('div', { class: 'reasons' }, h('span', { class: 'counts' }, 'why bundles missed'), missed.map(([k, v]) => h('span', { class: 'reason' }, k, h('b', null, ' ' + v))))));
    return box;
  }

  function subscriptionsBlock(chain) {
    const s = chain.subscriptions;
    const box = h('div', null, h('div', { class: 'section-title' }, 'Subscriptions' + (s ? ` · ${s.active} active` : '')));
    const feeds = (s && s.feeds) || [];
    if (!feeds.length) { box.append(h('div', { class: 'empty' }, 'no open subscriptions')); return box; }
    const list = h('div', { class: 'subs' });
    for (const f of feeds) {
      list.append(h('div', { class: 'feed' }, h('span', null, f.kind, ' ', h('span', { class: 'src' }, 'via ' + (f.upstream || '—') + (f.source ? ' · ' + f.source : ''))), h('span', { class: 'num' }, String(f.clients))));
    }
    box.append(list);
    return box;
  }

  function chaosBadge(chaos) {
    if (!chaos) return null;
    if (chaos.halted) return h('span', { class: 'badge chaos-halted', 'data-chaos': 'halted' }, 'chaos halted');
    if (chaos.armed) return h('span', { class: 'badge chaos-armed', 'data-chaos': 'armed' }, 'chaos armed');
    return h('span', { class: 'badge chaos-off', 'data-chaos': 'off' }, 'chaos off');
  }

  function chainCard(chain) {
    const ranking = chain.ranking || [];
    const ups = [...(chain.upstreams || [])].sort((a, b) => {
      const ra = ranking.indexOf(a.name), rb = ranking.indexOf(b.name);
      return (ra < 0 ? 1e6 : ra) - (rb < 0 ? 1e6 : rb);
    });
    const maxScore = Math.max(0, ...ups.map((u) => u.score || 0));
    const total = ups.length;
    const mode = chain.mode || 'full';
    const head = h('div', { class: 'chain-head' },
      h('span', { class: 'chain-name' }, chain.name),
      h('span', { class: 'chain-id' }, 'chain ' + chain.chain_id),
      h('span', { class: 'badge mode-' + mode, 'data-mode': mode, title: 'mode' }, mode),
      chaosBadge(chain.chaos),
      h('div', { class: 'stats' },
        stat('head', fmtInt(chain.head)),
        stat('healthy', `${chain.healthy_upstreams}/${total}`),
        stat('routable', String(ranking.length)),
        stat('subs', String(chain.subscriptions ? chain.subscriptions.active : 0))),
      chain.degradation && chain.degradation.cause && mode !== 'full' ? h('div', { class: 'cause' }, 'why: ' + chain.degradation.cause) : null,
      chain.chaos && chain.chaos.rules && chain.chaos.rules.length && chain.chaos.armed
        ? h('div', { class: 'cause rules' }, chain.chaos.rules.map((r) => h('span', { class: 'reason' }, r))) : null);

    const table = h('div', { class: 'grid' },
      h('div', { class: 'row head' }, h('div', null, '#'), h('div', null, 'upstream'), h('div', null, 'health'), h('div', null, 'score'),
        h('div', { class: 'right' }, 'head'), h('div', { class: 'right' }, 'lag'), h('div', { class: 'right' }, 'p50 / p90 ms'),
        h('div', null, 'latency · 5 min'), h('div', null, 'breaker'), h('div', null, 'throttle'), h('div', { class: 'right' }, 'in flight'), h('div', { class: 'right' }, 'ok / fail')));
    for (const u of ups) {
      const rank = ranking.indexOf(u.name) + 1;
      const row = upstreamRow(chain, u, rank, maxScore);
      const bar = row.querySelector('.bar > i');
      bar.style.width = maxScore > 0 ? Math.max(2, Math.round(((u.score || 0) / maxScore) * 100)) + '%' : '0';
      table.append(row);
    }

    return h('section', { class: 'chain', 'data-chain': chain.name }, head,
      h('div', { class: 'section-title' }, 'Upstreams, in routing order'), table,
      h('div', { class: 'split' }, buildersBlock(chain), subscriptionsBlock(chain)));
  }

  function stat(k, v) {
    return h('div', { class: 'stat' }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v));
  }

  function render(status) {
    const main = $('chains');
    const cards = (status.chains || []).map(chainCard);
    main.replaceChildren(...cards);
    const j = status.journal;
    const jEl = $('journal');
    if (j) {
      jEl.hidden = false;
      jEl.textContent = 'journal ' + j.state;
      jEl.className = 'chip ' + (j.state === 'down' ? 'state bad' : 'state dim');
      jEl.title = j.reason || '';
    }
  }

  function showUnauthorized() {
    $('chains').replaceChildren(h('div', { class: 'banner' }, h('b', null, 'Unauthorized. '),
      'This RpcShield requires its client token: open ', h('code', null, '/ui?token=…'), ' (the page keeps the token and sends it to /status as a header).'));
  }

  async function tick() {
    try {
      const res = await fetch('/status', { headers: token ? { Authorization: 'Bearer ' + token } : {}, cache: 'no-store', credentials: 'omit' });
      if (res.status === 401) {
        setConn('unauthorized', 'unauthorized');
        showUnauthorized();
      } else if (!res.ok) {
        setConn('error', 'status ' + res.status);
      } else {
        const status = await res.json();
        record(status);
        render(status);
        lastOk = Date.now();
        setConn('live', 'live · ' + new Date(lastOk).toLocaleTimeString('en-GB'));
      }
    } catch {
      setConn(lastOk ? 'stale' : 'error', lastOk ? 'stale · last ' + new Date(lastOk).toLocaleTimeString('en-GB') : 'unreachable');
    } finally {
      setTimeout(tick, INTERVAL_MS);
    }
  }

  tick();
})();
