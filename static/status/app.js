// The leader's status page: reads /status and /status/history every two seconds and redraws in
// place (plots with uPlot, tables as DOM). No build step: this file is served as written.
/* global uPlot */

const REFRESH_MS = 2000;
const PALETTE = ['#2b6cb0', '#d97706', '#2f855a', '#b83280', '#6b46c1', '#c53030', '#319795', '#718096'];
const plots = new Map();

const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

function age(seconds) {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

const money = (d) => `$${Number(d).toFixed(2)}`;
/** A price per hour to the hundredth of a cent, as EC2 quotes it (cents would show $0.00/h for small spot nodes). */
const rate = (d) => `$${Number(d).toFixed(4)}/h`;

/** Draws (or, when the series changed, redraws) one plot from samples and named series. */
function plot(id, samples, series, options = {}) {
  const box = $(id);
  const names = series.map((s) => s.label);
  const data = [samples.map((s) => Date.parse(s.at) / 1000), ...series.map((s) => samples.map(s.value))];
  const key = names.join('|');
  const existing = plots.get(id);
  if (existing && existing.key === key) {
    existing.chart.setData(data);
    return;
  }
  existing?.chart.destroy();
  box.replaceChildren();
  const chart = new uPlot(
    {
      width: Math.max(300, box.clientWidth - 8),
      height: 220,
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          scale: s.scale ?? 'y',
          ...(s.step ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
        })),
      ],
      axes: [
        {},
        { scale: 'y', ...(options.yLabel ? { label: options.yLabel } : {}) },
        ...(options.axes ?? []),
      ],
      scales: { x: { time: true } },
      legend: { live: false },
    },
    data,
    box,
  );
  plots.set(id, { key, chart });
}

function renderPlots(samples) {
  const nodeKeys = [...new Set(samples.flatMap((s) => Object.keys(s.nodes)))].sort();
  plot(
    'plot-nodes',
    samples,
    nodeKeys.length > 0
      ? nodeKeys.map((k) => ({ label: k, value: (s) => s.nodes[k] ?? 0, step: true }))
      : [{ label: 'nodes', value: () => 0, step: true }],
    { yLabel: 'nodes' },
  );
  plot(
    'plot-jobs',
    samples,
    [
      { label: 'queued', value: (s) => s.queued, step: true },
      { label: 'running', value: (s) => s.running, step: true },
    ],
    { yLabel: 'jobs' },
  );
  plot(
    'plot-cost',
    samples,
    [
      { label: '$/h', value: (s) => s.hourlyCost, step: true },
      { label: '$ so far', value: (s) => s.costDollars, scale: 'total' },
    ],
    { yLabel: '$/h', axes: [{ scale: 'total', side: 1, label: '$ so far', grid: { show: false } }] },
  );
  const spotKeys = [...new Set(samples.flatMap((s) => Object.keys(s.spotPrices)))].sort();
  plot(
    'plot-spot',
    samples,
    spotKeys.length > 0
      ? spotKeys.map((k) => ({ label: k, value: (s) => s.spotPrices[k] ?? null }))
      : [{ label: 'no spot node yet', value: () => null }],
    { yLabel: '$/h' },
  );
}

function fillTable(id, rows, empty) {
  const body = $(id).querySelector('tbody');
  const cols = $(id).querySelectorAll('thead th').length;
  if (rows.length === 0) {
    const tr = el('tr');
    const td = el('td', empty, 'empty');
    td.colSpan = cols;
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = el('tr');
      for (const c of cells) tr.append(typeof c === 'object' ? el('td', c.text, c.className) : el('td', c));
      return tr;
    }),
  );
}

/** Each failed workflow's failed jobs, with the tail of their logs (kept open across refreshes). */
function renderFailedJobs(workflows) {
  const box = $('failed-jobs');
  const open = new Set([...box.querySelectorAll('details[open]')].map((d) => d.dataset.key));
  const blocks = [];
  for (const w of workflows) {
    for (const j of w.failedJobs ?? []) {
      const key = `${w.id}/${j.jobId}`;
      const d = el('details', undefined, 'failed-job');
      d.dataset.key = key;
      d.open = open.has(key) || blocks.length === 0;
      // 0 attempts: a service held back by a service limit (its log tail names the flag).
      const verdict =
        j.attempts === 0
          ? 'never ran'
          : `failed after ${j.attempts === 1 ? '1 attempt' : `${j.attempts} attempts`}`;
      d.append(el('summary', `${w.id.slice(0, 8)} · job ${j.name} (${j.jobId.slice(0, 8)}) ${verdict}`));
      d.append(el('pre', j.logTail));
      blocks.push(d);
    }
  }
  box.replaceChildren(...blocks);
}

/** What followed a lost attempt, as `toil status` says it. */
const AFTER_LOSS = {
  spot: 'run again (no retry spent)',
  'on-demand': 'run again (no retry spent)',
  'moved-to-on-demand': 'run again on on-demand',
  failure: 'failed: lost too many times',
  committed: 'not run again: it had committed',
};

/** Each workflow's attempts lost with their node (a spot reclaim, a node gone), the newest last. */
function renderLostAttempts(workflows) {
  const box = $('lost-attempts');
  const open = new Set([...box.querySelectorAll('details[open]')].map((d) => d.dataset.key));
  const blocks = [];
  for (const w of workflows) {
    if (!w.lostCount) continue;
    const d = el('details', undefined, 'lost-attempts');
    d.dataset.key = w.id;
    d.open = open.has(w.id);
    const listed = w.lost ?? [];
    const more = w.lostCount > listed.length ? ` (the last ${listed.length} listed)` : '';
    d.append(el('summary', `${w.id.slice(0, 8)} · ${w.lostCount} attempt(s) lost with their node${more}`));
    const list = el('ul');
    for (const l of listed)
      list.append(
        el(
          'li',
          `${new Date(l.at).toISOString().slice(11, 19)} job ${l.name} (${l.jobId.slice(0, 8)}) attempt ${l.attempt}: ${l.why}; ${AFTER_LOSS[l.next] ?? l.next}`,
        ),
      );
    d.append(list);
    blocks.push(d);
  }
  box.replaceChildren(...blocks);
}

function render(status, samples) {
  $('state').textContent = status.state;
  $('state').className = `pill ${status.state}`;
  const nodes = status.nodes.list ?? [];
  // Costs priced at another region's list price (the catalogue has none for this one) read as estimates.
  const est = status.estimatedPrices;
  const approx = est ? '≈' : '';
  $('summary').textContent =
    `${nodes.length} node(s) · ${status.queue.queued} queued · ${status.queue.running} running · ` +
    `${approx}${rate(status.hourlyCostDollars ?? 0)} · ${approx}${money(status.costDollars)} so far` +
    (est ? ` (estimates: ${est.types.join(', ')} priced at ${est.from} list prices)` : '') +
    ` · up since ${status.startedAt}`;
  fillTable(
    'nodes',
    nodes.map((n) => [
      n.id,
      n.instanceType,
      n.zone,
      n.market,
      n.state,
      { text: n.tasks, className: 'num' },
      { text: age(n.ageSeconds), className: 'num' },
      {
        text:
          n.dollarsPerHour === null ? 'unknown' : `${n.priceEstimated ? '≈' : ''}${rate(n.dollarsPerHour)}`,
        className: 'num',
      },
    ]),
    'no nodes',
  );
  fillTable(
    'workflows',
    status.workflows.map((w) => {
      const p = w.progress;
      return [
        w.id.slice(0, 8),
        w.status,
        p ? `${p.completed}/${p.known}` : '',
        p
          ? `${p.running} running, ${p.waiting ? `${p.waiting} waiting to start, ` : ''}${p.held ? `${p.held} held by a job limit, ` : ''}${p.failed} failed` +
            (w.lostCount ? `, ${w.lostCount} lost with their node` : '')
          : '',
        new Date(w.submittedAt).toISOString(),
        w.message ?? '',
      ];
    }),
    'no workflow submitted yet',
  );
  renderFailedJobs(status.workflows);
  renderLostAttempts(status.workflows);
  const list = $('decisions');
  const decisions = status.decisions ?? [];
  list.replaceChildren(
    ...(decisions.length > 0
      ? decisions.map((d) => el('li', `${d.at.slice(11, 19)} ${d.kind} ${d.what}: ${d.reason}`))
      : [el('li', 'no decision yet', 'empty')]),
  );
  renderPlots(samples);
}

async function refresh() {
  try {
    const [status, samples] = await Promise.all([
      fetch('/status').then((r) => r.json()),
      fetch('/status/history').then((r) => r.json()),
    ]);
    render(status, samples);
  } catch (e) {
    $('state').textContent = `unreachable (${e.message})`;
    $('state').className = 'pill failed';
  }
}

await refresh();
setInterval(() => void refresh(), REFRESH_MS);
