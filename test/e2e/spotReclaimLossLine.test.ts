import t from 'tap';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import type { WorkflowRun } from '../../src/leader/daemon.js';
import {
  leaderAuth,
  leaderOnCloud,
  localCloudInstances,
  startClusterCloud,
  startToilProcess,
} from '../fixtures/leaderE2e.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { CHROMIUM, chromiumPresent, openStatusPage } from '../fixtures/statusPageBrowser.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * A spot node reclaimed under a running job, as an operator reads it: `toil leader` on
 * `toil localcloud` (real processes, a real Mesos master and agents), a scaleInterval of a minute
 * (so the Mesos batch system, which takes a spot agent disconnected for 3 s for gone, is the one
 * that loses the job, as it is at Toil's default interval), a 2 s notice. The job's loss line names
 * the EC2 instance (the id the cloud lists, its type and market) and that it was reclaimed as its
 * notice said, not only the Mesos agent that disconnected. The submitter (`toil run --leader`)
 * says the same line once as it follows the run, and its last line counts the loss; the workflow's
 * status (GET /workflows/:id) lists it as `toil status` does.
 */
t.setTimeout(90_000);

t.test(
  "a job lost with a reclaimed spot node: the leader's loss line, the submitter's and the workflow's status name the instance and the reclaim",
  async (t) => {
    const dir = testDir(t, {});
    const cloud = await startClusterCloud(t, 'reclaimline', { args: ['--spot-notice', '2s'] });
    const { leader, base } = await leaderOnCloud(t, dir, cloud, 'reclaimline', [
      ['scaleInterval: 1s', 'scaleInterval: 60s'],
      ['queueDebounce: 500ms', 'queueDebounce: 500ms\n  noticePoll: 1s'],
      ['preemptableCompensation: 1', 'preemptableCompensation: 0'],
      ['bootTime: 5s', 'bootTime: 1s'],
    ]);
    const master = new MesosMasterClient(cloud.mesosMaster);
    const client = startToilProcess(
      ['run', repoPath('test/fixtures/workflowSpotHold.ts'), `file:${dir}/js`, '--leader', base],
      { cwd: dir, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } },
    );
    t.teardown(() => void client.child.kill('SIGKILL'));

    let host: string | undefined;
    await waitFor(
      'hold running on a spot node',
      async () => {
        const s = await master.state();
        const task = s.frameworks.flatMap((f) => f.tasks).find((x) => x.state === 'TASK_RUNNING');
        host = s.slaves.find((a) => a.id === task?.slave_id)?.hostname;
        return host !== undefined;
      },
      30_000,
      100,
    );
    const node = (await localCloudInstances(cloud.ec2Url)).find((i) => i.privateIp === host)!;
    t.equal(node.market, 'spot', 'hold runs on a spot node');
    const r = await fetch(`${cloud.ec2Url}/_localcloud/spot-interruption/${node.instanceId}`, {
      method: 'POST',
    });
    t.equal(r.status, 200, 'the cloud gives the node its notice, 2 s ahead of the reclaim');

    const result = await client.done;
    t.equal(result.code, 0, `the workflow succeeds\n${result.stderr.slice(-2000)}`);
    const lossLines = leader
      .output()
      .split('\n')
      .filter((l) => l.includes("job 'hold' lost ("));
    t.equal(lossLines.length, 1, `the loss is said once\n${lossLines.join('\n')}`);
    t.match(
      lossLines[0],
      new RegExp(
        `job 'hold' lost \\(lost: spot instance ${node.instanceId} \\(t2\\.medium\\), reclaimed as its interruption notice said \\(due \\S+Z\\): its node ${host!.replaceAll('.', '\\.')} disconnected from the Mesos master on \\S+\\); running it again \\(no retry spent\\)`,
      ),
      'the loss names the instance, its type and market, and the reclaim',
    );

    // The submitter sees none of the leader's log: it says the loss itself, once, in its words.
    const said = result.stderr.split('\n');
    const submitterLoss = said.filter((l) => l.includes("job 'hold' lost ("));
    t.equal(submitterLoss.length, 1, `the submitter says the loss once\n${result.stderr.slice(-2000)}`);
    t.match(submitterLoss[0], /^toil: job 'hold' lost \(lost: spot instance /, 'said as the leader says it');
    const submitted = (submitterLoss[0] ?? '').replace(/^toil: /, '');
    t.ok(
      submitted !== '' && lossLines[0]!.includes(submitted),
      `the submitter's line is the leader's\n${submitterLoss[0]}\n${lossLines[0]}`,
    );
    t.match(
      said.find((l) => l.startsWith('toil: workflow succeeded on the leader:')),
      /; 1 attempt lost with its node$/,
      'its last line counts the loss',
    );
    const id = /toil: submitted workflow (\S+) /.exec(result.stderr)?.[1];
    const run = (await (
      await fetch(`${base}/workflows/${id}`, { headers: leaderAuth(`${dir}/state`) })
    ).json()) as WorkflowRun;
    t.equal(run.lostCount, 1, "the workflow's status counts the loss");
    t.match(
      run.lost,
      [
        {
          name: 'hold',
          attempt: 1,
          next: 'spot',
          why: new RegExp(`^lost: spot instance ${node.instanceId} \\(t2\\.medium\\), reclaimed`),
        },
      ],
      "the workflow's status lists the lost attempt: the job, the instance, why, and that it ran again",
    );

    // The operator's page: the loss counted in the workflow's row, and listed under the table.
    if (!chromiumPresent) {
      t.comment(`no Chromium at ${CHROMIUM} (apt-get install chromium): the status page is not looked at`);
      return;
    }
    const { page, problems } = await openStatusPage(
      t,
      base,
      undefined,
      "document.querySelector('#lost-attempts details') !== null",
    );
    await page.evaluate("document.querySelector('#lost-attempts details').open = true");
    const shown = (await page.evaluate(`({
      row: document.querySelector('#workflows tbody')?.textContent ?? '',
      summary: document.querySelector('#lost-attempts summary')?.textContent ?? '',
      items: [...document.querySelectorAll('#lost-attempts li')].map((li) => li.textContent ?? ''),
    })`)) as { row: string; summary: string; items: string[] };
    t.match(shown.row, /1 lost with their node/, "the workflow's row counts the loss");
    t.equal(
      shown.summary,
      `${id!.slice(0, 8)} · 1 attempt(s) lost with their node`,
      'the list says how many',
    );
    t.match(
      shown.items,
      [
        new RegExp(
          `job hold \\(\\S+\\) attempt 1: lost: spot instance ${node.instanceId} .*; run again \\(no retry spent\\)$`,
        ),
      ],
      'and names the job, the instance, why, and what followed',
    );
    t.same(problems, [], 'no console error on the page');
  },
);
