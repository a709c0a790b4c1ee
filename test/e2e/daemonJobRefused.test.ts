import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { embeddedLeaderConfig, leaderStatus, startToilProcess } from '../fixtures/leaderE2e.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { startToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * Jobs the leader daemon (embedded local cloud, node types c5.xlarge and r5.large) refuses, and
 * `toil run --leader` exits 2 with the daemon's reason, no advice to resubmit:
 * - a job over the submitter's --maxMemory (Toil's cap on what one job may ask for, which goes
 *   with the submission): it was dropped, and a node launched for the job. First, so no node was
 *   launched for anything before it.
 * - a child asking for 4 cores and 10 GiB: each resource alone fits a type, the whole fits none.
 *   It waited for ever with nothing said (the client showed "1 waiting to start"); it is refused
 *   when it is added, naming it and what no type offers.
 * - three such children added by one job: the refusal names the first and counts and names the
 *   other two, as the check before launch does (it named the first alone).
 * Those refusals, one of a job that would wait forever under the config's maxNodes, and one of a
 * job whose disk is over the workers' root volume, name what the daemon's operator changes: the
 * scaler's keys in the config file. They named the submitter's --nodeTypes, --maxNodes and
 * --nodeStorage, which do nothing on a daemon.
 */
t.setTimeout(240_000);

const dir = testDir(t, {});
const cfgPath = join(dir, 'leader.yaml');
writeFileSync(
  cfgPath,
  embeddedLeaderConfig(dir, [
    ['    - t2.medium\n    - { type: t2.medium, spot: true }', '    - c5.xlarge\n    - r5.large'],
  ]),
);
const leader = startToilProcess(['leader', '--config', cfgPath], { cwd: dir });
t.teardown(() => void leader.child.kill('SIGKILL'));
const [, base = ''] = await leader.waitFor(/status at (http:\/\/[0-9.:]+)\/status/, 60_000);

/** A pattern matching `text` as written. */
const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The submitter's scaling flags, which a daemon's refusal must not send its reader to. */
const SCALING_FLAG =
  /--nodeTypes|--nodeType\b|--maxNodes|--maxPreemptableNodes|--preemptableCompensation|--nodeStorage/;

/** `toil run WORKFLOW file:DIR/STORE ARGS --leader BASE …`, SIGKILLed after a minute (many times a refusal's time). */
async function submit(
  workflow: string,
  store: string,
  flags: readonly string[] = [],
  args: readonly string[] = [],
  at = { base, tokenFile: `${dir}/state.token` },
) {
  const run = startToil(
    ['run', repoPath(workflow), `file:${dir}/${store}`, ...args, '--leader', at.base, ...flags],
    {
      cwd: dir,
      env: { TOIL_LEADER_TOKEN_FILE: at.tokenFile },
    },
  );
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

t.test(
  "a job over the submitter's --maxMemory is refused on the daemon, naming the flag, exit 2",
  async (t) => {
    // Its 3G fit either node type: without the cap it ran on a node launched for it.
    const result = await submit('test/fixtures/workflowSized.ts', 'sized', ['--maxMemory', '1G']);
    t.equal(result.code, 2, `refused as bad input (stderr: ${result.stderr})`);
    t.match(
      result.stderr,
      /^toil: workflow failed on the leader: job 'sized' asks for 3\.0 GB memory, more than --maxMemory allows \(1\.0 GB\); raise --maxMemory, or lower the job's requirement \(--defaultMemory if it declares none\); the job store file:\S+\/sized is kept: submit it again to restart it \(with --maxMemory raised\), or remove the job store with 'toil clean file:\S+\/sized' to start the workflow from scratch$/m,
    );
    t.notMatch(
      result.stderr,
      /is kept; submit again to restart it/,
      'no advice to submit it again as it was',
    );
    t.same((await leaderStatus(base)).nodes.owned, [], 'no node was launched for it');
  },
);

t.test('a job no node type fits whole is refused on the daemon when it is added, exit 2', async (t) => {
  const result = await submit('test/fixtures/workflowChildFitsNoType.ts', 'js');
  t.equal(result.code, 2, `refused as bad input (stderr: ${result.stderr})`);
  t.match(
    result.stderr,
    new RegExp(
      `toil: workflow failed on the leader: job 'wide' can never run: .*; change scaler\\.nodeTypes in ${literal(cfgPath)} to a bigger type, or the job's requirements \\(--defaultCores/--defaultMemory/--defaultDisk\\)`,
    ),
    "names the config's key and file",
  );
  t.notMatch(result.stderr, SCALING_FLAG, "not the submitter's flags, which do nothing on a daemon");
  t.notMatch(result.stderr, /submit again to restart it/);
  t.notMatch(
    leader.output(),
    /workflow failed to run|\bat \S+\.[jt]s:\d+/,
    'the daemon logs a refusal, no stack',
  );
});

t.test(
  "a job whose disk is over the config's root volume is refused naming scaler.nodeStorage and the file",
  async (t) => {
    // c5.xlarge and r5.large are EBS-only: their disk is the 50 GiB root volume less Toil's overhead.
    const result = await submit('test/fixtures/workflowDeclaresNothing.ts', 'deep', [
      '--defaultDisk',
      '60Gi',
    ]);
    t.equal(result.code, 2, `refused as bad input (stderr: ${result.stderr})`);
    t.match(
      result.stderr,
      new RegExp(
        `^toil: workflow failed on the leader: job 'plain' can never run: disk: asks 60\\.0 GiB, .*; a root volume of 69 GiB or more gives the job its disk\\) \\(largest allowed node type \\S+\\); raise scaler\\.nodeStorage in ${literal(cfgPath)} to 69 or more, change scaler\\.nodeTypes in ${literal(cfgPath)} to a bigger type, or the job's requirements`,
        'm',
      ),
    );
    t.notMatch(result.stderr, SCALING_FLAG, "not the submitter's flags, which do nothing on a daemon");
  },
);

t.test(
  'of three jobs added at once that no node type fits, the refusal names the first and counts and names the others',
  async (t) => {
    const result = await submit('test/fixtures/workflowChildFitsNoType.ts', 'three', [], ['three']);
    t.equal(result.code, 2, `refused as bad input (stderr: ${result.stderr})`);
    t.match(
      result.stderr,
      /^toil: workflow failed on the leader: job 'wide' can never run: .*; 2 other jobs cannot run either: 'wider', 'widest'$/m,
    );
  },
);

t.test(
  "a job that would wait forever under the config's maxNodes is refused naming scaler.maxNodes and the file",
  async (t) => {
    // 'wide' (4 cores, 10 GiB) fits only the c5.2xlarge, of which the config allows none.
    const capped = join(dir, 'capped');
    mkdirSync(capped);
    const cappedCfg = join(capped, 'leader.yaml');
    writeFileSync(
      cappedCfg,
      embeddedLeaderConfig(capped, [
        ['    - t2.medium\n    - { type: t2.medium, spot: true }', '    - c5.2xlarge\n    - r5.large'],
        ['maxNodes: 4', 'maxNodes: "0,4"'],
      ]),
    );
    const other = startToilProcess(['leader', '--config', cappedCfg], { cwd: capped });
    t.teardown(() => void other.child.kill('SIGKILL'));
    const [, otherBase = ''] = await other.waitFor(/status at (http:\/\/[0-9.:]+)\/status/, 60_000);
    const result = await submit('test/fixtures/workflowChildFitsNoType.ts', 'capped-js', [], [], {
      base: otherBase,
      tokenFile: `${capped}/state.token`,
    });
    t.equal(result.code, 2, `refused as bad input (stderr: ${result.stderr})`);
    t.match(
      result.stderr,
      new RegExp(
        `toil: workflow failed on the leader: job 'wide' would wait forever: maxNodes reached for c5\\.2xlarge.*; change scaler\\.maxNodes or scaler\\.nodeTypes \\(an on-demand type\\) in ${literal(cappedCfg)}$`,
        'm',
      ),
    );
    t.notMatch(result.stderr, SCALING_FLAG, "not the submitter's flags, which do nothing on a daemon");
    // The daemon's status page says the same to its operator.
    const id = /submitted workflow (\S+)/.exec(result.stderr)?.[1];
    const shown = (await leaderStatus(otherBase)).workflows.find((w) => w.id === id)?.message ?? '';
    t.match(shown, `change scaler.maxNodes or scaler.nodeTypes (an on-demand type) in ${cappedCfg}`);
    t.notMatch(shown, SCALING_FLAG);
  },
);
