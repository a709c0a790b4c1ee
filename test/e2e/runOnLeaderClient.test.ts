import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { failedJobSummary, type FailedJobSummary } from '../../src/leader/daemon.js';
import type { LostAttemptRecord } from '../../src/jobstore/jobRecords.js';
import { startToilProcess } from '../fixtures/leaderE2e.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

/**
 * What `toil run … --leader URL` says and does as it follows a workflow on the leader.
 *
 * Ctrl-C (or SIGTERM) on `toil run … --leader URL` cancels the workflow on the leader, as it stops
 * a local run: it used to end the client alone (exit 130, nothing said) and leave the workflow
 * running there, a hung job holding its node with nobody watching. A stand-in leader on 127.0.0.1
 * takes the submission, reports it running forever, and records the cancel.
 *
 * A run the leader resumed (restarted after a crash, or resubmitted) counts the jobs it found done:
 * "5 jobs run" alone, after "23/23 jobs", read as if most of the workflow had not run.
 */
// Three cases at once, each starting `toil run` processes: on a loaded two-core machine the file
// took 75 s (33 s one case at a time), past the 60 s this limit was sized for when they ran alone.
t.setTimeout(180_000);
// Each case has its own directory and stand-in leader: they run side by side.
t.jobs = 3;

const SORT = join(REPO_ROOT, 'examples/sort.ts');

async function foreverRunningLeader(t: Test): Promise<{ url: string; deleted: string[] }> {
  const deleted: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const reply = (status: number, body: object): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const run = {
        id: 'wf-1',
        status: 'running',
        progress: { known: 3, completed: 1, running: 2, failed: 0 },
      };
      if (req.method === 'POST') reply(202, run);
      else if (req.method === 'DELETE') {
        deleted.push(req.url ?? '');
        reply(202, { ...run, cancelRequested: true });
      } else reply(200, run);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deleted };
}

/**
 * A stand-in leader on 127.0.0.1 that answers each request with `answer`'s status and JSON body
 * (a string: that text as text/plain, as a server that is no leader answers).
 */
async function answeringLeader(
  t: Test,
  answer: (method: string, url: string) => readonly [number, object | string],
): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const [status, body] = answer(req.method ?? '', req.url ?? '');
      const text = typeof body === 'string';
      res.writeHead(status, { 'content-type': text ? 'text/plain' : 'application/json' });
      res.end(text ? body : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  t.test(`${signal} on the client cancels the workflow on the leader, exit ${code}`, async (t) => {
    const dir = scratchDir(t);
    const { url, deleted } = await foreverRunningLeader(t);
    const client = startToilProcess(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
      cwd: dir,
    });
    t.teardown(() => void client.child.kill('SIGKILL'));
    await client.waitFor(/toil: 1\/3 jobs, 2 running/);
    client.child.kill(signal);
    const r = await client.done;
    t.equal(r.code, code, `exit ${code}`);
    t.same(deleted, ['/workflows/wf-1'], 'the leader was asked to cancel the workflow');
    t.match(r.stderr, new RegExp(`toil: ${signal}: cancelling workflow wf-1 on the leader at ${url}`));
    t.match(r.stderr, /toil: workflow wf-1 cancelled; the job store file:\S+ is kept/);
  });
}

/** An attempt lost with a reclaimed spot node, as GET /workflows/:id lists it. */
function lostAttempt(jobId: string, name: string): LostAttemptRecord {
  return {
    jobId,
    name,
    attempt: 1,
    at: Date.parse('2025-01-01T10:00:00Z'),
    why: 'lost: spot instance i-0a1b2c (t2.medium), reclaimed as its interruption notice said (due 2025-01-01T10:00:02Z): its node 10.0.0.5 disconnected from the Mesos master on 2025-01-01T10:00:05Z',
    next: 'spot',
  };
}

/**
 * Every ending of a run that lost attempts with their node ends by counting them, as a succeeded
 * or failed one did: a run cancelled (or killed, or cut off from its store) after an hour of spot
 * reclaims ended on its own line, the losses said one by one far above it.
 */
for (const { ending, record, line } of [
  {
    ending: 'cancelled at the leader (toil cancel)',
    record: {
      status: 'cancelled',
      message:
        'workflow wf-end cancelled at the leader (DELETE /workflows/:id from 127.0.0.1 at 2025-01-01T11:00:00.000Z)',
    },
    line: /^toil: workflow wf-end cancelled at the leader \(DELETE .*\); the job store file:\S+ is kept; submit again to restart it$/,
  },
  {
    ending: 'stopped by toil kill',
    record: {
      status: 'failed',
      stoppedByKill: true,
      messageSaysResume: true,
      message:
        'the workflow was stopped by toil kill (from host-a, pid 4242); its running jobs were killed and the job store file:/w/js is kept: submit it again to restart it',
    },
    line: /^toil: the workflow was stopped by toil kill \(from host-a, pid 4242\); .* submit it again to restart it$/,
  },
  {
    ending: 'stopped by a job store it could not read',
    record: {
      status: 'failed',
      storeUnreachable: true,
      message:
        'job store file:/w/js could not be read: input/output error (EIO) reading leader.json (expected a readable job store: fix its path or its disk, then run again)',
    },
    line: /^toil: the leader at \S+: job store file:\/w\/js could not be read: .*then run again\)$/,
  },
]) {
  t.test(`a run ${ending} after losing attempts with their node ends counting them`, async (t) => {
    const dir = scratchDir(t);
    const ended = {
      id: 'wf-end',
      ...record,
      lostCount: 2,
      lost: [lostAttempt('j-1', 'sortA'), lostAttempt('j-2', 'sortB')],
    };
    const url = await answeringLeader(t, (method) =>
      method === 'POST' ? [202, { id: 'wf-end', status: 'running' }] : [200, ended],
    );
    const r = await startToilProcess(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
      cwd: dir,
    }).done;
    const last = r.stderr.trimEnd().split('\n').slice(-2);
    t.match(last[0], line, `the ending's own line\n${r.stderr}`);
    t.equal(last[1], 'toil: 2 attempts lost with their node in this run', 'then the count, last');
  });
}

/**
 * Ctrl-C has no final record to count from: the leader's answer to the cancel is the run as it had
 * it then (newer than the last poll); a cancel it refused leaves the last poll's, which is all that
 * was seen.
 */
const RUNNING_WITH_A_LOSS = {
  id: 'wf-1',
  status: 'running',
  lostCount: 1,
  lost: [lostAttempt('j-1', 'sortA')],
};
for (const { cancel, answer, line, count } of [
  {
    cancel: "taken: it ends counting the losses in the leader's answer to it",
    answer: [
      202,
      {
        ...RUNNING_WITH_A_LOSS,
        cancelRequested: true,
        lostCount: 2,
        lost: [lostAttempt('j-1', 'sortA'), lostAttempt('j-2', 'sortB')],
      },
    ] as const,
    line: /^toil: workflow wf-1 cancelled; the job store file:\S+ is kept/,
    count: 'toil: 2 attempts lost with their node in this run',
  },
  {
    cancel: 'refused: it ends counting the losses it last saw',
    answer: [409, { error: 'workflow wf-1 has already failed' }] as const,
    line: /^toil: could not cancel workflow wf-1 \(.*has already failed\)/,
    count: 'toil: 1 attempt lost with its node in this run',
  },
]) {
  t.test(`SIGINT on the client, the cancel ${cancel}`, async (t) => {
    const dir = scratchDir(t);
    const url = await answeringLeader(t, (method) =>
      method === 'DELETE' ? answer : [method === 'POST' ? 202 : 200, RUNNING_WITH_A_LOSS],
    );
    const client = startToilProcess(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
      cwd: dir,
    });
    t.teardown(() => void client.child.kill('SIGKILL'));
    await client.waitFor(/toil: job 'sortA' lost \(/);
    client.child.kill('SIGINT');
    const r = await client.done;
    const last = r.stderr.trimEnd().split('\n').slice(-2);
    t.match(last[0], line, `the cancel's own line\n${r.stderr}`);
    t.equal(last[1], count, 'then the count, last');
  });
}

t.test(
  'a --leader without its scheme (HOST:PORT) is refused naming the URL form, exit 2, for run and cancel',
  async (t) => {
    const dir = scratchDir(t);
    const { url, deleted } = await foreverRunningLeader(t);
    const hostPort = url.replace('http://', '');
    const cases = [
      { given: hostPort, example: url },
      { given: `localhost:${new URL(url).port}`, example: `http://localhost:${new URL(url).port}` },
      { given: `ftp://${hostPort}`, example: 'http://127.0.0.1:8080' },
    ];
    for (const { given, example } of cases) {
      const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', given, '--leaderToken', 'x'], {
        cwd: dir,
      });
      t.equal(run.code, 2, `run --leader ${given}: exit 2`);
      t.equal(
        run.stderr.trim(),
        `toil: --leader ${given}: expected the leader's URL, http://HOST:PORT (e.g. ${example})`,
        `run --leader ${given}: one line naming the form`,
      );
      const cancel = await runToil(['cancel', 'wf-1', '--leader', given, '--leaderToken', 'x'], { cwd: dir });
      t.equal(cancel.code, 2, `cancel --leader ${given}: exit 2`);
      t.match(cancel.stderr, `--leader ${given}: expected the leader's URL`);
    }
    t.same(deleted, [], 'nothing was sent anywhere');
  },
);

/**
 * A --leader URL nothing listens on (a wrong port, a leader not started) was taken for a leader
 * restarting: 'is restarting (connection refused): retrying for up to 60 s', and a minute later
 * the refusal. Nothing having answered, it is said within a few seconds, in one line.
 */
t.test('a --leader port nothing listens on is refused within seconds, one line, exit 2', async (t) => {
  const dir = scratchDir(t);
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise((r) => server.close(r));
  const startedAt = Date.now();
  const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
    cwd: dir,
  });
  const took = Date.now() - startedAt;
  t.equal(run.code, 2, run.stderr);
  t.ok(took < 25_000, `refused after ${took} ms, not the 60 s a restart is waited for`);
  t.match(
    run.stderr,
    new RegExp(
      `^toil: --leader ${url}: nothing listens there \\(connection refused for 10\\.\\d s\\) \\(expected a running toil leader at that URL: start one with 'toil leader', or give the URL it printed\\)\\n$`,
    ),
    'one line naming the URL and what was expected',
  );
});

/**
 * A --leader port web clients refuse (the Fetch standard's bad ports: 1, 6000 (X11), 10080...)
 * was said as fetch's own refusal, `cannot reach the leader (bad port)`, naming nothing to do. No
 * retry can make it answer: it is refused before any request, naming the URL, why and what to give.
 */
t.test(
  'a --leader port web clients refuse to connect to is refused at once, one line naming why, exit 2, for run and cancel',
  async (t) => {
    const dir = scratchDir(t);
    for (const port of [1, 6000, 10080]) {
      const url = `http://127.0.0.1:${port}`;
      const line = `toil: --leader ${url}: port ${port} is one web clients refuse to connect to (a "bad port" of the Fetch standard: toil run --leader's client and browsers alike), so no leader can be reached there (expected the leader's URL as toil leader printed it: start the leader on another port with toil leader --port N)`;
      const startedAt = Date.now();
      const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
        cwd: dir,
      });
      const took = Date.now() - startedAt;
      t.equal(run.code, 2, `run --leader ${url}: exit 2`);
      t.equal(run.stderr, `${line}\n`, `run --leader ${url}: one line naming the port and what to give`);
      t.ok(
        took < 8_000,
        `run --leader ${url}: refused after ${took} ms, not retried as a refused connection`,
      );
      const cancel = await runToil(['cancel', 'wf-1', '--leader', url, '--leaderToken', 'x'], { cwd: dir });
      t.equal(cancel.code, 2, `cancel --leader ${url}: exit 2`);
      t.equal(cancel.stderr, `${line}\n`, `cancel --leader ${url}: the same line`);
    }
  },
);

/**
 * `toil leader` prints its status page and status addresses (`http://HOST:PORT/`, `…/status`); one
 * of them given to --leader was joined to the API's paths (`…/status/workflows`), which the leader
 * answers 404: an internal error with a stack trace, exit 1. Refused up front instead.
 */
t.test(
  'a --leader with a path (the status address) is refused naming the URL form, exit 2, for run and cancel',
  async (t) => {
    const dir = scratchDir(t);
    const asked: string[] = [];
    const url = await answeringLeader(t, (method, path) => {
      asked.push(`${method} ${path}`);
      return [404, { message: `Route ${method}:${path} not found`, error: 'Not Found' }];
    });
    for (const given of [`${url}/status`, `${url}/workflows/`, `${url}/?token=x`, `${url}/#status`]) {
      const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', given, '--leaderToken', 'x'], {
        cwd: dir,
      });
      t.equal(run.code, 2, `run --leader ${given}: exit 2`);
      t.equal(
        run.stderr.trim(),
        `toil: --leader ${given}: expected the leader's URL, http://HOST:PORT, with no path, query or fragment (e.g. ${url})`,
        `run --leader ${given}: one line naming the form`,
      );
      const cancel = await runToil(['cancel', 'wf-1', '--leader', given, '--leaderToken', 'x'], { cwd: dir });
      t.equal(cancel.code, 2, `cancel --leader ${given}: exit 2`);
      t.match(cancel.stderr, `--leader ${given}: expected the leader's URL`);
    }
    t.same(asked, [], 'nothing was sent to the leader');
    const slash = await runToil(['cancel', 'wf-1', '--leader', `${url}/`, '--leaderToken', 'x'], {
      cwd: dir,
    });
    t.same(asked, ['DELETE /workflows/wf-1'], "a trailing slash alone is the leader's URL");
    t.equal(slash.code, 2, slash.stderr);
  },
);

/**
 * A leader that could not take a submission (its job store's file system did not answer) answers
 * 503 with its reason: the client showed it as an internal error with its own stack trace, exit
 * 1. It is the leader's refusal, said in one line. (A 503 saying the leader is restarting,
 * LEADER_NOT_TAKING, is waited out: test/e2e/runOnLeaderRestarting.test.ts.)
 */
t.test("a leader's 503 to a submission is one line with its reason, exit 2, no stack", async (t) => {
  const dir = scratchDir(t);
  const why = `jobStore file:${dir}/js: its file system did not answer within 10 s (a hung or unreachable mount?); check the mount, then submit again`;
  const url = await answeringLeader(t, () => [503, { error: why }]);
  const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
    cwd: dir,
  });
  t.equal(run.code, 2, run.stderr);
  t.equal(run.stderr.trim(), `toil: the leader at ${url} refused the workflow (HTTP 503): ${why}`);
});

/**
 * A server at the URL that is no toil-ts leader (another service on the port) answered 501 with a
 * line of text: the client said `refused the workflow (HTTP 501): HTTP 501`, as if a leader had
 * refused it. It says the server does not look like a leader, for run and cancel alike.
 */
t.test('a server that is no leader (501, text/plain) is said to be so in one line, exit 2', async (t) => {
  const dir = scratchDir(t);
  const asked: string[] = [];
  const url = await answeringLeader(t, (method, path) => {
    asked.push(`${method} ${path}`);
    return [501, 'Not Implemented'];
  });
  const expected = (status: number): string =>
    `toil: the server at ${url} answered HTTP ${status} and does not look like a toil-ts leader (no JSON error body): --leader takes the address \`toil leader\` prints as it starts`;
  const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
    cwd: dir,
  });
  t.equal(run.code, 2, run.stderr);
  t.equal(run.stderr.trim(), expected(501));
  const cancel = await runToil(['cancel', 'wf-1', '--leader', url, '--leaderToken', 'x'], { cwd: dir });
  t.equal(cancel.code, 2, cancel.stderr);
  t.equal(cancel.stderr.trim(), expected(501));
  t.same(asked, ['POST /workflows', 'DELETE /workflows/wf-1']);
});

/**
 * A leader restarted without its state (another state directory, `workflows.resume: false`) answers
 * 404 for the workflow the client follows: that was an internal error with the client's stack
 * trace. It is one line saying so and where to look, exit 1 (the workflow's fate is not known).
 */
t.test('a leader that no longer knows the followed workflow is one line, exit 1, no stack', async (t) => {
  const dir = scratchDir(t);
  const url = await answeringLeader(t, (method) =>
    method === 'POST' ? [202, { id: 'wf-9', status: 'running' }] : [404, { error: 'no such workflow' }],
  );
  const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
    cwd: dir,
  });
  t.equal(run.code, 1, run.stderr);
  t.match(
    run.stderr,
    new RegExp(
      `^toil: the leader at ${url} no longer knows workflow wf-9 \\(was it restarted\\?\\); toil status file:\\S+/js says how far it got$`,
      'm',
    ),
  );
  t.notMatch(run.stderr, /internal error|\n\s+at /, 'no stack trace');
});

t.test(
  'a leader that forgets the followed workflow after it lost attempts: the count it last saw ends the run',
  async (t) => {
    const dir = scratchDir(t);
    let polls = 0;
    const url = await answeringLeader(t, (method) =>
      method === 'POST'
        ? [202, { id: 'wf-1', status: 'running' }]
        : ++polls <= 2
          ? [200, RUNNING_WITH_A_LOSS]
          : [404, { error: 'no such workflow' }],
    );
    const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
      cwd: dir,
    });
    t.equal(run.code, 1, run.stderr);
    const last = run.stderr.trimEnd().split('\n').slice(-2);
    t.match(last[0], /no longer knows workflow wf-1 .* says how far it got$/, `its own line\n${run.stderr}`);
    t.equal(last[1], 'toil: 1 attempt lost with its node in this run', 'then the count, last');
  },
);

/**
 * A leader that refuses the follow requests in a way waiting does not change (a Host it does not
 * answer to: 421, a 403) was waited out as a silent one: the client said it was waiting up to
 * 120 s and failed only then. It ends at once, one line with the leader's message and the status,
 * exit 2.
 */
for (const [status, error] of [
  [
    421,
    "Host '127.0.0.1' is not a name this leader answers to (its IP addresses, localhost and the names in its http.allowedHosts); to reach it as 127.0.0.1, add 127.0.0.1 to http.allowedHosts in the leader's config and restart it",
  ],
  [403, 'forbidden by policy'],
] as const) {
  t.test(`a leader refusing the follow with ${status} ends it at once: one line, exit 2`, async (t) => {
    const dir = scratchDir(t);
    const asked: string[] = [];
    const url = await answeringLeader(t, (method, path) => {
      asked.push(`${method} ${path}`);
      return method === 'POST' ? [202, { id: 'wf-7', status: 'running' }] : [status, { error }];
    });
    const startedAt = Date.now();
    const run = await runToil(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
      cwd: dir,
    });
    const took = Date.now() - startedAt;
    t.equal(run.code, 2, run.stderr);
    t.same(
      run.stderr.trim().split('\n'),
      [
        `toil: submitted workflow wf-7 to the leader at ${url}`,
        `toil: the leader at ${url} refused to report workflow wf-7 (HTTP ${status}: ${error})`,
      ],
      'the refusal in one line, no waiting for the leader to come back',
    );
    // fetch itself asks again once, on a new connection, after a 421 (the Fetch standard's retry).
    t.same(
      asked,
      ['POST /workflows', ...Array<string>(status === 421 ? 2 : 1).fill('GET /workflows/wf-7')],
      'the follow asked once, not again and again',
    );
    t.ok(took < 30_000, `ended at once, not after the 120 s a silent leader gets (${took} ms)`);
  });
}

t.test('a run the leader resumed says how many jobs were already done', async (t) => {
  const dir = scratchDir(t);
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          req.method === 'POST'
            ? { id: 'wf-2', status: 'running' }
            : { id: 'wf-2', status: 'succeeded', jobsRun: 5, jobsReplayed: 18 },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = startToilProcess(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
    cwd: dir,
  });
  const r = await client.done;
  t.equal(r.code, 0);
  t.match(
    r.stderr,
    /toil: workflow succeeded on the leader: 5 jobs run \(18 already done before the run resumed\) in /,
  );
});

t.test("a failed run prints each failed job's error and log tail, as a local run does", async (t) => {
  const dir = scratchDir(t);
  const r = await runAgainstFailedLeader(t, dir, 'thrower: Error: boom from thrower', [
    {
      jobId: 'j-1',
      name: 'thrower',
      attempts: 2,
      logTail: 'Error: boom from thrower\n    at Object.fn (/w/bug.ts:4:9)',
    },
  ]);
  t.equal(r.code, 1);
  t.match(r.stderr, /toil: workflow failed on the leader: thrower: Error: boom from thrower\n/);
  t.match(
    r.stderr,
    /toil: job 'thrower' \(j-1\) failed after 2 attempt\(s\):\n {4}Error: boom from thrower\n {8}at Object\.fn \(\/w\/bug\.ts:4:9\)\n/,
  );
});

t.test(
  "a failed service on the leader: the report names the jobs that never ran because of it, and a service limit's failure as never ran",
  async (t) => {
    const dir = scratchDir(t);
    // As the leader daemon reports the runner's failures.
    const failedService = failedJobSummary({
      jobId: 'j-1',
      name: 'db',
      attempts: 1,
      reason: "Error: service 'db' failed: its check() returned false",
      neverRan: "2 job(s) below job 'host' never ran: 'use', 'after'",
    });
    const heldService = failedJobSummary({
      jobId: 'j-2',
      name: 'db2',
      attempts: 0,
      reason: "--maxServiceJobs is 0, so service 'db2' can never start; give --maxServiceJobs 1 or more",
    });
    const r = await runAgainstFailedLeader(t, dir, 'db: service failed', [failedService, heldService]);
    t.equal(r.code, 1);
    t.match(
      r.stderr,
      /toil: job 'db' \(j-1\) failed after 1 attempt\(s\):\n {4}Error: service 'db' failed: its check\(\) returned false\ntoil: {3}because of it, 2 job\(s\) below job 'host' never ran: 'use', 'after'\n/,
    );
    t.match(r.stderr, /toil: job 'db2' \(j-2\) never ran:\n {4}--maxServiceJobs is 0/);
  },
);

t.test(
  'a run whose result cannot be built from committed values says a resubmission cannot help',
  async (t) => {
    const dir = scratchDir(t);
    const reason = 'the workflow\'s result cannot be made: promised value of job j-2 has no element "total"';
    // As the leader daemon reports the runner's failure.
    const job = failedJobSummary({ jobId: 'j-1', name: 'root', attempts: 1, reason, committed: true });
    const r = await runAgainstFailedLeader(t, dir, `root: ${reason}`, [job]);
    t.equal(r.code, 1);
    t.match(
      r.stderr,
      /toil: the job store file:\S+ is kept, but submitting again cannot help: .* run it anew/,
    );
    t.notMatch(r.stderr, /submit again to restart it/);
  },
);

t.test(
  'a run the leader refused as bad input (a job too big for every node type) exits 2, with no advice to resubmit',
  async (t) => {
    const dir = scratchDir(t);
    const reason =
      "job 'huge' asks for 64 cores, more than the largest node allows (2 cores, 2.8 GiB memory, 42.5 GiB disk on mesos)";
    // As the leader daemon reports a run its runner refused with a user error (JOB_TOO_BIG).
    const r = await runAgainstFailedLeader(t, dir, reason, [], { userError: true });
    t.equal(r.code, 2, 'bad input: exit 2, as a local run');
    t.match(r.stderr, /toil: workflow failed on the leader: job 'huge' asks for 64 cores/);
    t.notMatch(r.stderr, /submit again to restart it/, 'submitting the same workflow again cannot help');
  },
);

t.test(
  'options only this process could honour, set in $HOME/.toil/default.yaml, are left out with --leader, not refused; from --config they are refused',
  async (t) => {
    const dir = scratchDir(t);
    mkdirSync(join(dir, '.toil'));
    // Toil's default.yaml holds this machine's settings for every run, e.g. its scratch and logs.
    writeFileSync(
      join(dir, '.toil/default.yaml'),
      'workDir: /no/such/scratch\nwriteLogs: logs\nslurmTime: "1:00:00"\nretryCount: 4\n',
    );
    const posted: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.method === 'POST') posted.push(JSON.parse(body));
        res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ id: 'wf-3', status: req.method === 'POST' ? 'running' : 'succeeded', jobsRun: 3 }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => void server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env = { HOME: dir };
    const args = ['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'];
    const r = await startToilProcess(args, { cwd: dir, env }).done;
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stderr,
      /^toil: \S+\/\.toil\/default\.yaml: workDir, writeLogs, slurmTime: left out with --leader \(this machine's defaults; the leader daemon keeps its own\)$/m,
    );
    t.equal(posted.length, 1, 'submitted');
    const sent = JSON.stringify(posted[0]);
    t.notMatch(sent, /no\/such\/scratch|"logs"|1:00:00/, 'none of them was sent');
    t.match(
      posted[0],
      { retryCount: 4 },
      'what the leader takes from a submission still comes from the file',
    );

    writeFileSync(join(dir, 'mine.yaml'), 'writeLogs: logs\n');
    const named = await startToilProcess([...args, '--config', 'mine.yaml'], { cwd: dir, env }).done;
    t.equal(named.code, 2, 'a file the user named is a request for this run: refused');
    t.match(named.stderr, /^toil: --writeLogs: with --leader .* \(set in mine\.yaml: writeLogs\)$/m);
    t.equal(posted.length, 1, 'nothing more submitted');
  },
);

/** `toil run … --leader URL` against a stand-in leader that reports the run as `failed` says. */
async function runAgainstFailedLeader(
  t: Test,
  dir: string,
  message: string,
  failedJobs: readonly FailedJobSummary[],
  more: { userError?: true } = {},
): Promise<{ code: number | null; stderr: string }> {
  const failed = { id: 'wf-failed', status: 'failed', message, failedJobs, ...more };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.method === 'POST' ? { id: failed.id, status: 'running' } : failed));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return startToilProcess(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
    cwd: dir,
  }).done;
}
