import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CHROMIUM, chromiumPresent as present, openStatusPage } from '../fixtures/statusPageBrowser.js';
import {
  embeddedLeaderConfig,
  leaderAuth,
  sleep,
  startEmbeddedLeader,
  startToilProcess,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The status page in a real headless Chromium while the daemon scales a sort on the local cloud:
 * plots drawn, the node table filled, no console error; a screenshot is kept as a test artifact
 * (.tap/artifacts/status-page.png, not committed).
 */
// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(240_000);

t.test(
  'the status page shows plots and a filled node table while the daemon scales a sort',
  { skip: present ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)` },
  async (t) => {
    const dir = testDir(t, {});
    const { leader, base } = await startEmbeddedLeader(
      t,
      dir,
      embeddedLeaderConfig(dir, [['idleGrace: 20s', 'idleGrace: 30s']]),
    );
    const client = startToilProcess(
      [
        'run',
        join(REPO_ROOT, 'examples/sort.ts'),
        'file:js',
        // Four leaves: enough to launch nodes for the page to show, few worker processes.
        '--numLines',
        '1000',
        '--N',
        '8000',
        '--fileToSort',
        `${dir}/in.txt`,
        '--outputFile',
        `${dir}/out.txt`,
        '--defaultPreemptable',
        '--leader',
        base,
      ],
      { cwd: dir, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } },
    );
    t.teardown(() => void client.child.kill('SIGKILL'));
    // Beside the sort, a workflow whose one job fails every attempt: the page shows its log's tail.
    const failing = await fetch(`${base}/workflows`, {
      method: 'POST',
      headers: leaderAuth(`${dir}/state`),
      body: JSON.stringify({
        workflowFile: join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts'),
        jobStore: `file:${dir}/js-fails`,
        args: ['job-fails'],
        defaultPreemptable: true,
      }),
    });
    t.equal(failing.status, 202, 'the failing workflow is taken');

    // Nodes launched for the sort appear in the table, and the plots have drawn several samples.
    const { page, problems } = await openStatusPage(t, base, { width: 1280, height: 1100 });
    await sleep(4000);
    const seen = (await page.evaluate(`({
      canvases: document.querySelectorAll('.plot canvas').length,
      rows: [...document.querySelectorAll('#nodes tbody tr')].map((tr) =>
        [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      ),
      legend: [...document.querySelectorAll('#plot-nodes .u-legend .u-label')].map((e) => e.textContent ?? ''),
      decisions: document.querySelectorAll('#decisions li').length,
      workflows: document.querySelector('#workflows tbody')?.textContent ?? '',
      summary: document.querySelector('#summary')?.textContent ?? '',
    })`)) as {
      canvases: number;
      rows: string[][];
      legend: string[];
      decisions: number;
      workflows: string;
      summary: string;
    };
    t.equal(seen.canvases, 4, 'four plots drawn');
    t.ok(seen.rows.length > 0, `${seen.rows.length} node row(s)`);
    for (const r of seen.rows) {
      t.match(r[0], /^i-/, 'instance id');
      t.match(r[3], /^(spot|on-demand)$/, 'market');
      t.match(r[4], /^(booting|registered|draining)$/, 'state');
      t.match(r[7], /^\$\d+\.\d{4}\/h$/, 'price per hour to the hundredth of a cent');
    }
    t.ok(
      seen.legend.some((l) =>
        /^(spot|on-demand)\/[a-z0-9]+\.[a-z0-9]+\/(booting|registered|draining)$/.test(l),
      ),
      `nodes plotted by pool/type/state: ${seen.legend.join(', ')}`,
    );
    // us-west-2 is priced by the catalogue: its costs are not marked as estimates (nor are the
    // node rows' prices, matched above).
    t.match(seen.summary, /· \$\d+\.\d{4}\/h · \$\d+\.\d{2} so far · up since/, 'cost and rate unmarked');
    t.notMatch(seen.summary, /≈|estimate/);
    t.ok(seen.decisions > 0, 'recent decisions listed');
    t.match(seen.workflows, /running|succeeded/, 'the workflow is listed');
    // The failed job, its attempts and the tail of its log, without a reload.
    await page.waitForFunction("document.querySelectorAll('details.failed-job').length > 0", {
      timeout: 90_000,
      polling: 250,
    });
    const failed = (await page.evaluate(`[...document.querySelectorAll('details.failed-job')].map((d) => ({
      summary: d.querySelector('summary')?.textContent ?? '',
      log: d.querySelector('pre')?.textContent ?? '',
      open: d.open,
    }))`)) as { summary: string; log: string; open: boolean }[];
    t.equal(failed.length, 1, 'one failed job');
    t.match(failed[0], {
      summary: /job boom \([0-9a-f]{8}\) failed after 2 attempts/,
      log: /boom failed on purpose with 41[\s\S]*boom is about to fail with 41/,
      open: true,
    });
    const artifacts = join(REPO_ROOT, '.tap', 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'status-page.png'), fullPage: true });
    t.same(problems, [], 'no console errors');
    const r = await client.done;
    t.equal(r.code, 0, 'the sort succeeded');
    if (r.code !== 0)
      t.comment(`toil run --leader:\n${r.stderr.slice(-3000)}\nleader:\n${leader.output().slice(-3000)}`);
  },
);

/**
 * In a region the catalogue has no prices for, the page marks what is priced by estimate: the
 * rate and the cost so far in the summary, and an on-demand node's $/h (us-east-1's list price).
 */
t.test(
  'the status page marks estimated prices with ≈ in a region the catalogue has no prices for',
  { skip: present ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)` },
  async (t) => {
    const dir = testDir(t, {});
    // One on-demand t2.medium kept up by minNodes: a node to show without running a workflow.
    const { base } = await startEmbeddedLeader(
      t,
      dir,
      embeddedLeaderConfig(dir, [
        ['zone: us-west-2a', 'zone: eu-west-1a'],
        ['region: us-west-2', 'region: eu-west-1'],
        ['zones: [us-west-2a]', 'zones: [eu-west-1a]'],
        ['    - { type: t2.medium, spot: true }\n', ''],
        ['minNodes: 0', 'minNodes: 1'],
      ]),
    );
    const { page, problems } = await openStatusPage(t, base);
    const seen = (await page.evaluate(`({
      summary: document.querySelector('#summary')?.textContent ?? '',
      prices: [...document.querySelectorAll('#nodes tbody tr')].map((tr) => tr.querySelectorAll('td')[7]?.textContent ?? ''),
    })`)) as { summary: string; prices: string[] };
    t.match(
      seen.summary,
      /^1 node\(s\) · \d+ queued · \d+ running · ≈\$0\.0464\/h · ≈\$\d+\.\d{2} so far \(estimates: t2\.medium priced at us-east-1 list prices\) · up since /,
      'the rate and the cost so far marked as estimates, and why',
    );
    // t2.medium's us-east-1 on-demand list price (config/instances.json).
    t.same(seen.prices, ['≈$0.0464/h'], "the node's $/h marked as an estimate");
    t.same(problems, [], 'no console errors');
  },
);
