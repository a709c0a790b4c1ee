import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import {
  LeaderDaemon,
  submissionDefaults,
  type RunStore,
  type Submission,
  type WorkflowRun,
} from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import type { WorkflowProgress } from '../../src/leader/workflowRunner.js';
import type { AroundWorkflowCode } from '../../src/leader/guardedWorkflowCode.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { fakeDaemonDeps } from '../fixtures/leaderFakes.js';
import { REPO_ROOT, startToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';
import { freePort } from '../fixtures/motoServer.js';

/**
 * The daemon's workflow routes, in process with a recording runWorkflow: the bearer token guards
 * submitting and cancelling; bad submissions are 400s naming what is wrong; a taken submission
 * (its module included) is durable before the 202; DELETE cancels; a restarted daemon resumes
 * from the record and does not resume a run in a loop.
 */
const catalogue = await readCatalogue();
const TOKEN = 'test-token-0123456789abcdef';
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

class MemoryRunStore implements RunStore {
  runs: WorkflowRun[] = [];
  readonly modules = new Map<string, Uint8Array>();
  async load(): Promise<readonly WorkflowRun[]> {
    return JSON.parse(JSON.stringify(this.runs)) as WorkflowRun[];
  }
  async save(runs: readonly WorkflowRun[]): Promise<void> {
    this.runs = JSON.parse(JSON.stringify(runs)) as WorkflowRun[];
  }
  async saveModule(id: string, bundle: Uint8Array): Promise<void> {
    this.modules.set(id, bundle);
  }
  async loadModule(id: string): Promise<Uint8Array | undefined> {
    return this.modules.get(id);
  }
  async deleteModule(id: string): Promise<void> {
    this.modules.delete(id);
  }
}

interface Started {
  readonly calls: {
    id: string;
    submission: Submission;
    signal: AbortSignal;
    progress: (p: WorkflowProgress) => void;
    end: (ok: boolean) => void;
    /** Ends the run with `e` as its error (as the runner does once a stop has killed its jobs). */
    fail: (e: Error) => void;
    /** Runs a call of the workflow's own code as the runner does (the daemon marks the run). */
    code: AroundWorkflowCode;
  }[];
  readonly url: string;
  readonly daemon: LeaderDaemon;
}

/**
 * A daemon over `runStore` whose runs wait for the test (`calls`), not started. A run ends at its
 * abort, or (`endsOnAbort` false) when the test fails it, as a real run ends only once its jobs
 * are killed.
 */
function newDaemon(
  runStore: MemoryRunStore,
  http: Record<string, unknown> = {},
  workflows: Record<string, unknown> = {},
  killRequested?: (submission: Submission) => Promise<boolean>,
  endsOnAbort = true,
): Omit<Started, 'url'> {
  const clock = new ManualClock();
  const config = parseLeaderConfigObject(
    {
      http: { port: 0, ...http },
      workflows,
      scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'] },
    },
    catalogue,
  );
  const calls: Started['calls'] = [];
  const daemon = new LeaderDaemon({
    ...fakeDaemonDeps(clock, config),
    // Asked what it has issued whenever a run's progress is shown (GET /workflows/:id).
    newBatchSystem: () => ({ issuedJobIds: () => new Set<string>() }) as never,
    runWorkflow: (submission, _bs, progress, signal, id, _room, code) =>
      new Promise((resolve, reject) => {
        if (endsOnAbort) signal.addEventListener('abort', () => reject(signal.reason as Error));
        calls.push({
          id,
          submission,
          signal,
          progress,
          code,
          end: (ok) => resolve({ status: ok ? 'succeeded' : 'failed', jobsRun: 1 }),
          fail: reject,
        });
      }),
    runStore,
    ...(killRequested ? { killRequested } : {}),
    auth: {
      token: TOKEN,
      metrics: 'open',
      status: 'open',
      ...(http['auth'] as object),
    },
  });
  return { calls, daemon };
}

async function startDaemon(
  t: Test,
  runStore: MemoryRunStore,
  http: Record<string, unknown> = {},
  workflows: Record<string, unknown> = {},
): Promise<Started> {
  const { calls, daemon } = newDaemon(runStore, http, workflows);
  const url = await daemon.start();
  t.teardown(() => daemon.stop());
  return { calls, url, daemon };
}

const post = (url: string, body: unknown, token?: string): Promise<Response> =>
  fetch(`${url}/workflows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

t.test('without the token a POST is 401 and nothing runs; probes stay open', async (t) => {
  const { url, calls } = await startDaemon(t, new MemoryRunStore());
  const body = { workflowFile: WORKFLOW, jobStore: 'file:/tmp/toil-js-never', args: ['well'] };
  const none = await post(url, body);
  t.equal(none.status, 401);
  const refusal = ((await none.json()) as { error: string }).error;
  t.match(refusal, /^missing bearer token: .*the leader's token file, which its log names at start/);
  t.notMatch(refusal, /\.token\b|\/\w/, 'no path of this machine told to a client without the token');
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="toil leader"');
  t.equal((await post(url, body, 'wrong-token-0123456789')).status, 401, 'a wrong token: 401');
  const del = await fetch(`${url}/workflows/x`, { method: 'DELETE' });
  t.equal(del.status, 401, 'cancel needs the token too');
  t.equal(calls.length, 0, 'nothing ran');
  t.equal((await fetch(`${url}/healthz`)).status, 200, '/healthz open');
  t.equal((await fetch(`${url}/readyz`)).status, 200, '/readyz open');
  t.equal((await fetch(`${url}/status`)).status, 200, '/status open by default');
  t.equal((await fetch(`${url}/metrics`)).status, 200, '/metrics open by default');
});

/**
 * An Authorization header that is there but not `Bearer <token>` (a token with a space in it,
 * another scheme) was answered as if none had been sent ("missing bearer token"): its 401 says the
 * header is malformed and the form expected, and repeats nothing of it (it may hold the token).
 */
t.test('a malformed Authorization header is a 401 that says so and names the form expected', async (t) => {
  const { url, calls } = await startDaemon(t, new MemoryRunStore());
  const body = JSON.stringify({
    workflowFile: WORKFLOW,
    jobStore: 'file:/tmp/toil-js-never',
    args: ['well'],
  });
  const cases: [header: string, shape: string][] = [
    [`Bearer ${TOKEN} extra`, 'Bearer, then 2 words'],
    ['Bearer', 'Bearer, then 0 words'],
    [`Basic ${TOKEN}`, 'another scheme, then 1 word'],
    [TOKEN, 'another scheme, then 0 words'],
    ['', 'empty'],
  ];
  for (const [authorization, shape] of cases) {
    const res = await fetch(`${url}/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body,
    });
    t.equal(res.status, 401, authorization);
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="toil leader"', authorization);
    const refusal = ((await res.json()) as { error: string }).error;
    t.match(
      refusal,
      new RegExp(
        `^malformed Authorization header \\(${shape}\\): expected 'Bearer <token>', the token alone after 'Bearer' \\(the token is in the leader's token file`,
      ),
      authorization,
    );
    t.notMatch(refusal, TOKEN, `${authorization}: nothing of the header repeated`);
  }
  const wrong = await post(url, JSON.parse(body), 'wrong-token-0123456789');
  t.match(
    ((await wrong.json()) as { error: string }).error,
    /^wrong bearer token: /,
    'a wrong token: as before',
  );
  t.equal(calls.length, 0, 'nothing ran');
});

t.test(
  "a path no route takes (a 5,000-character workflow id, an unknown path): the API's { error } shape, its message bounded",
  async (t) => {
    const { url } = await startDaemon(t, new MemoryRunStore());
    const id = 'a'.repeat(5000);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const cases: [method: string, path: string, status: number, error: RegExp][] = [
      ['GET', `/workflows/${id}`, 404, /^no such workflow$/],
      ['DELETE', `/workflows/${id}`, 404, /^no workflow a{120}… \(5000 characters\)$/],
      ['GET', `/${id}?x=1`, 404, /^no route GET \/a{119}… \(5001 characters\) on this leader$/],
      [
        'POST',
        `/workflows/${id}`,
        404,
        /^no route POST \/workflows\/a{109}… \(5011 characters\) on this leader$/,
      ],
      ['GET', '/workflow', 404, /^no route GET \/workflow on this leader$/],
      ['GET', '/workflows/%E0%A4%A', 400, /^GET \/workflows\/%E0%A4%A: not a valid path$/],
    ];
    for (const [method, path, status, error] of cases) {
      const res = await fetch(`${url}${path}`, { method, headers: auth });
      const text = await res.text();
      t.equal(res.status, status, `${method} ${path.slice(0, 20)}: ${status}`);
      t.ok(text.length < 300, `${method} ${path.slice(0, 20)}: a bounded answer (${text.length} characters)`);
      const body = JSON.parse(text) as Record<string, unknown>;
      t.same(Object.keys(body), ['error'], 'the API shape');
      t.match(body['error'], error);
    }
    const unknown = await fetch(`${url}/workflows/${'b'.repeat(36)}`);
    t.same(
      [unknown.status, await unknown.json()],
      [404, { error: 'no such workflow' }],
      'an id of the usual length',
    );
  },
);

t.test(
  "a body fastify refuses before the route (not JSON, empty, another content type, over the limit): the API's { error } shape naming why, nothing runs",
  async (t) => {
    const { url, calls } = await startDaemon(t, new MemoryRunStore());
    const auth = { authorization: `Bearer ${TOKEN}` };
    const big = `{"args":["${'x'.repeat(2 * 1024 * 1024)}"]}`;
    const cases: [what: string, type: string, body: string, status: number, error: RegExp][] = [
      [
        'malformed JSON',
        'application/json',
        '{"workflowFile": ',
        400,
        /^POST \/workflows: the body is not valid JSON \(expected a JSON object\)$/,
      ],
      [
        'an empty body',
        'application/json',
        '',
        400,
        /^POST \/workflows: the body is empty \(expected a JSON object\)$/,
      ],
      [
        'another content type',
        'application/xml',
        '<workflow/>',
        415,
        /^POST \/workflows: content-type application\/xml is not taken \(expected application\/json\)$/,
      ],
      [
        'a JSON body sent as text/plain',
        'text/plain',
        '{}',
        415,
        /^POST \/workflows: content-type text\/plain is not taken \(expected application\/json\)$/,
      ],
      [
        'a body over the limit',
        'application/json',
        big,
        413,
        new RegExp(
          `^POST \\/workflows: the body \\(content-length ${big.length}\\) is over this leader's limit of 1\\.0 MiB$`,
        ),
      ],
    ];
    for (const [what, type, body, status, error] of cases) {
      const res = await fetch(`${url}/workflows`, {
        method: 'POST',
        headers: { ...auth, 'content-type': type },
        body,
      });
      t.equal(res.status, status, `${what}: ${status}`);
      const answer = (await res.json()) as Record<string, unknown>;
      t.same(Object.keys(answer), ['error'], `${what}: the API shape, not fastify's`);
      t.match(answer['error'], error, `${what}: says why`);
    }
    t.equal(calls.length, 0, 'nothing ran');
  },
);

t.test('a closed route is judged by the route that takes it, not by its path as sent', async (t) => {
  // /%6Detrics is routed to /metrics; judged by its raw path, it was served without the token.
  const { url } = await startDaemon(t, new MemoryRunStore(), { auth: { status: 'open', metrics: 'token' } });
  for (const path of ['/metrics', '/%6Detrics', '/%6d%65trics', '/metrics?x=1', '/%6Detrics?x=1'])
    t.equal((await fetch(`${url}${path}`)).status, 401, `${path}: 401`);
  const ok = await fetch(`${url}/%6Detrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(ok.status, 200, 'the same path with the token is served');
  t.match(await ok.text(), /^# HELP /m, 'it is /metrics');
  t.equal((await fetch(`${url}/%73tatus`)).status, 200, '/status stays open, however spelt');
  t.equal((await fetch(`${url}/%68ealthz`)).status, 200, '/healthz stays open, however spelt');
});

t.test('http.auth closes /status and /metrics when asked', async (t) => {
  const { url } = await startDaemon(t, new MemoryRunStore(), { auth: { status: 'token', metrics: 'token' } });
  t.equal((await fetch(`${url}/status`)).status, 401);
  t.equal((await fetch(`${url}/metrics`)).status, 401);
  t.equal((await fetch(`${url}/workflows/nope`)).status, 401);
  const ok = await fetch(`${url}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(ok.status, 200);
  t.equal((await fetch(`${url}/healthz`)).status, 200);
});

t.test(
  'the values of --setEnv variables are never shown: the open GET /workflows/:id and /status name them only',
  async (t) => {
    const { url, calls } = await startDaemon(t, new MemoryRunStore());
    const secret = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
    const body = {
      workflowFile: WORKFLOW,
      jobStore: 'file:/tmp/toil-js-env-shown',
      args: ['well'],
      env: { AWS_SECRET_ACCESS_KEY: secret, GREETING: 'hello' },
    };
    const r = await post(url, body, TOKEN);
    t.equal(r.status, 202);
    const accepted = await r.text();
    t.notMatch(accepted, secret, 'the 202 does not echo a value');
    const { id } = JSON.parse(accepted) as { id: string };
    t.same(calls[0]?.submission.env, body.env, 'the jobs get the values');
    const one = await fetch(`${url}/workflows/${id}`);
    t.equal(one.status, 200, 'GET /workflows/:id is open by default');
    const oneText = await one.text();
    t.notMatch(oneText, secret, 'GET /workflows/:id does not show a value');
    t.notMatch(oneText, 'hello');
    t.same(
      (JSON.parse(oneText) as WorkflowRun).submission.env,
      { AWS_SECRET_ACCESS_KEY: '(hidden)', GREETING: '(hidden)' },
      'the names are shown',
    );
    const status = await (await fetch(`${url}/status`)).text();
    t.match(status, 'AWS_SECRET_ACCESS_KEY', '/status names the variable');
    t.notMatch(status, secret, '/status does not show its value');
  },
);

t.test('bad submissions are 400 with what is wrong, and nothing runs', async (t) => {
  const dir = testDir(t, { 'wf.ts': 'export default 1;\n', 'notes.txt': 'x' });
  mkdirSync(join(dir, 'dir.ts'));
  const { url, calls } = await startDaemon(t, new MemoryRunStore());
  const cases: [string, unknown, RegExp][] = [
    [
      'workflowFile a directory',
      { workflowFile: join(dir, 'dir.ts'), jobStore: 'file:/tmp/x' },
      /dir\.ts: is a directory; expected a workflow file/,
    ],
    ['jobStore ""', { workflowFile: WORKFLOW, jobStore: '' }, /jobStore: expected a job store locator/],
    [
      'jobStore gs:bad',
      { workflowFile: WORKFLOW, jobStore: 'gs:bad' },
      /jobStore: invalid job store locator 'gs:bad': unknown scheme 'gs'/,
    ],
    ['a relative job store', { workflowFile: WORKFLOW, jobStore: 'file:js' }, /expected an absolute path/],
    [
      'not a module',
      { workflowFile: join(dir, 'notes.txt'), jobStore: 'file:/tmp/x' },
      /notes\.txt: expected a workflow module/,
    ],
    [
      '/etc/hostname',
      { workflowFile: '/etc/hostname', jobStore: 'file:/tmp/x' },
      /expected a workflow module/,
    ],
    [
      'a relative workflow file',
      { workflowFile: 'wf.ts', jobStore: 'file:/tmp/x' },
      /expected an absolute path/,
    ],
    [
      'missing file',
      { workflowFile: join(dir, 'gone.ts'), jobStore: 'file:/tmp/x' },
      /gone\.ts: the leader cannot read it \(ENOENT\)/,
    ],
    ['args not strings', { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', args: [1] }, /args\[0\]/],
    [
      'an unknown field',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', options: { bundle: 'x' } },
      /options/,
    ],
    [
      'preemptableRetries -1',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', preemptableRetries: -1 },
      /preemptableRetries/,
    ],
    [
      'a default memory that is no byte count',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', defaults: { cores: 1, memory: '2G', disk: 1 } },
      /defaults\.memory/,
    ],
    ['clean sometimes', { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', clean: 'sometimes' }, /clean/],
    [
      'a service polling interval of 0',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', servicePollMs: 0 },
      /servicePollMs/,
    ],
    [
      'a service limit that is no whole number',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', maxServiceJobs: 1.5 },
      /maxServiceJobs/,
    ],
    [
      'a negative preemptable service limit',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', maxPreemptableServiceJobs: -1 },
      /maxPreemptableServiceJobs/,
    ],
    [
      "a job limit of 0 (toil run sends none for its 'no limit')",
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', maxJobs: 0 },
      /maxJobs/,
    ],
    ['a core cap of 0', { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', maxCores: 0 }, /maxCores/],
    [
      'a memory cap that is no whole number of bytes',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', maxMemory: '1G' },
      /maxMemory/,
    ],
    [
      'an env name that is no variable name',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', env: { 'A-B': '1' } },
      /env/,
    ],
    [
      'a workflow file with a NUL in it',
      { workflowFile: `${WORKFLOW}\0.ts`, jobStore: 'file:/tmp/x' },
      /: workflowFile: expected no NUL character in it$/,
    ],
    [
      'a job store with a NUL in it',
      { workflowFile: WORKFLOW, jobStore: 'file:/tmp/x\0y' },
      /: jobStore: expected no NUL character in it$/,
    ],
    [
      'a syntax error',
      { workflowFile: join(dir, 'bad.ts'), jobStore: 'file:/tmp/x' },
      /cannot bundle workflow/,
    ],
  ];
  writeFileSync(join(dir, 'bad.ts'), 'export default {{{;\n');
  for (const [name, body, message] of cases) {
    const r = await post(url, body, TOKEN);
    t.equal(r.status, 400, `${name}: 400`);
    t.match(((await r.json()) as { error: string }).error, message, `${name}: says why`);
  }
  t.equal(calls.length, 0, 'nothing ran');
});

t.test(
  'one job store however spelt (a trailing slash, .., a symlink), or submitted twice at once, is one run: the others are 409s naming it',
  async (t) => {
    const { url, calls } = await startDaemon(t, new MemoryRunStore());
    const dir = testDir(t);
    const store = join(dir, 'js');
    mkdirSync(store);
    symlinkSync(store, join(dir, 'link'));
    const body = (jobStore: string): unknown => ({ workflowFile: WORKFLOW, jobStore, args: ['well'] });
    const first = await post(url, body(`file:${store}`), TOKEN);
    t.equal(first.status, 202);
    const { id } = (await first.json()) as WorkflowRun;
    for (const spelt of [`${store}/`, `${dir}/x/../js`, `${dir}//js`, join(dir, 'link')]) {
      const r = await post(url, body(`file:${spelt}`), TOKEN);
      t.same(
        [r.status, await r.json()],
        [
          409,
          {
            error: `jobStore file:${spelt}: workflow ${id} is running on it (as file:${store}); cancel it or wait`,
          },
        ],
        `file:${spelt}: the same store`,
      );
    }
    // Both pass every check before either is running: only the first to pass them is taken.
    const fresh = join(dir, 'fresh');
    const both = await Promise.all([
      post(url, body(`file:${fresh}`), TOKEN),
      post(url, body(`file:${fresh}`), TOKEN),
    ]);
    t.same(both.map((r) => r.status).sort(), [202, 409], 'two at once on a new store: one run, one 409');
    t.equal(calls.length, 2, 'two runs started, one per store');
    calls[0]!.end(true);
    await new Promise((r) => setTimeout(r, 50));
    t.equal(
      (await post(url, body(`file:${join(dir, 'link')}`), TOKEN)).status,
      202,
      'the store is free once its run ended',
    );
  },
);

t.test('a taken submission is durable before the 202; DELETE cancels it', async (t) => {
  const store = new MemoryRunStore();
  const { url, calls } = await startDaemon(t, store);
  // toil run's --retryCount, --preemptableRetries, --clean, --setEnv, --default{Cores,Memory,Disk}, --servicePollingInterval, --deadlockWait, --maxJobDuration, --stopOnFirstFailure, --maxServiceJobs, --maxPreemptableServiceJobs, --maxJobs, --maxCores, --maxMemory and --maxDisk travel with it and are kept (a resume honours them).
  const body = {
    workflowFile: WORKFLOW,
    jobStore: 'file:/tmp/toil-js-durable',
    args: ['well'],
    retryCount: 0,
    preemptableRetries: 'unlimited',
    clean: 'never',
    servicePollMs: 200,
    deadlockWaitMs: 5000,
    maxJobDurationMs: 30_000,
    stopOnFirstFailure: true,
    maxServiceJobs: 2,
    maxPreemptableServiceJobs: 0,
    maxJobs: 4,
    maxCores: 2.5,
    maxMemory: 10 ** 9,
    maxDisk: 3 * 2 ** 30,
    env: { GREETING: 'hello' },
    defaults: { cores: 3, memory: 100 * 2 ** 30, disk: 7 * 2 ** 30 },
  };
  const r = await post(url, body, TOKEN);
  t.equal(r.status, 202);
  const { id } = (await r.json()) as { id: string };
  t.match(store.runs, [{ id, status: 'running', submission: body }], 'the run is saved when the 202 arrives');
  t.match(calls[0]?.submission, {
    retryCount: 0,
    preemptableRetries: 'unlimited',
    clean: 'never',
    servicePollMs: 200,
    deadlockWaitMs: 5000,
    maxJobDurationMs: 30_000,
    stopOnFirstFailure: true,
    maxServiceJobs: 2,
    maxPreemptableServiceJobs: 0,
    maxJobs: 4,
    maxCores: 2.5,
    maxMemory: 10 ** 9,
    maxDisk: 3 * 2 ** 30,
    env: { GREETING: 'hello' },
    defaults: { cores: 3, memory: 100 * 2 ** 30, disk: 7 * 2 ** 30 },
  });
  t.same(
    submissionDefaults(calls[0]!.submission),
    { cores: 3, memory: 100 * 2 ** 30, disk: 7 * 2 ** 30 },
    "a job declaring nothing gets the submitter's --defaultCores/--defaultMemory/--defaultDisk",
  );
  t.same(
    submissionDefaults({ workflowFile: WORKFLOW, jobStore: 'file:/tmp/x', args: [] }),
    { cores: 1, memory: 2 * 2 ** 30, disk: 2 * 2 ** 30 },
    "none given: Toil's defaults",
  );
  t.ok((store.modules.get(id)?.length ?? 0) > 100, 'with its bundled module');
  t.ok(calls[0]?.submission.options?.bundle, 'the run uses the module that was saved');
  t.equal((await post(url, body, TOKEN)).status, 409, 'a second run on the same job store: 409');

  calls[0]!.progress({ known: 5, completed: 2, running: 3, failed: 0 });
  const del = await fetch(`${url}/workflows/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(del.status, 202);
  t.ok(calls[0]?.signal.aborted, 'the run is aborted');
  let run: WorkflowRun | undefined;
  for (let i = 0; i < 50 && run?.status !== 'cancelled'; i++) {
    await new Promise((r) => setImmediate(r));
    run = (await (await fetch(`${url}/workflows/${id}`)).json()) as WorkflowRun;
  }
  t.match(run, { status: 'cancelled', message: /cancelled at the leader/ });
  t.same(
    run?.progress,
    { known: 5, completed: 2, running: 0, failed: 0 },
    'a cancelled run shows none of its jobs running (they were killed)',
  );
  const again = await fetch(`${url}/workflows/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(again.status, 409, 'cancelling an ended run: 409');
  t.same(await again.json(), { error: `workflow ${id} has already been cancelled` });
  const unknown = await fetch(`${url}/workflows/nope`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(unknown.status, 404);
  t.notOk(store.modules.has(id), 'the saved module is dropped once the run ends');
});

t.test(
  'a run its user cancels ends cancelled, not failed: GET, /status, workflowFinished and the following toil run --leader (exit 130) say so, with from where and when',
  async (t) => {
    const store = new MemoryRunStore();
    const { url, calls, daemon } = await startDaemon(t, store);
    const dir = testDir(t, {});
    const jobStore = `file:${join(dir, 'js')}`;
    // The client following the run, as a user's terminal: someone else cancels the run.
    const client = startToil(['run', WORKFLOW, jobStore, 'well', '--leader', url], {
      env: { TOIL_LEADER_TOKEN: TOKEN },
    });
    t.teardown(() => void client.child.kill('SIGKILL'));
    for (let i = 0; i < 600 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    t.equal(calls.length, 1, 'the client submitted the run');
    const id = (daemon.status() as { workflows: { id: string }[] }).workflows[0]!.id;
    calls[0]!.progress({ known: 4, completed: 1, running: 2, failed: 0 });
    const finished = daemon.events.next('workflowFinished');
    const del = await fetch(`${url}/workflows/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    t.equal(del.status, 202);
    const submittedAt = daemon.workflow(id)!.submittedAt;
    const when = new Date(submittedAt).toISOString();
    const message = `workflow ${id} cancelled at the leader (DELETE /workflows/:id from 127.0.0.1 at ${when})`;
    t.same(await finished, { id, status: 'cancelled' }, 'workflowFinished says cancelled');

    const one = (await (await fetch(`${url}/workflows/${id}`)).json()) as WorkflowRun;
    t.match(one, { status: 'cancelled', message, cancelledAt: submittedAt, cancelledFrom: '127.0.0.1' });
    t.notOk(one.failedJobs, 'no failed jobs: nothing failed');
    const shown = (
      (await (await fetch(`${url}/status`)).json()) as { workflows: Record<string, unknown>[] }
    ).workflows.find((w) => w['id'] === id);
    t.match(
      shown,
      { status: 'cancelled', message, cancelledAt: when, cancelledFrom: '127.0.0.1' },
      '/status',
    );
    t.match(store.runs, [{ id, status: 'cancelled', message }], 'recorded as cancelled');

    const result = await client.done;
    t.equal(result.code, 130, 'the following client exits as a cancelled run does, not 1 (failed)');
    const said = result.stdout + result.stderr;
    t.match(
      said,
      `toil: ${message}; the job store ${jobStore} is kept; submit again to restart it\n`,
      'the client says it was cancelled, from where and when',
    );
    t.notMatch(said, /workflow failed/, 'not said to have failed');
  },
);

t.test('a cancelled run is never resumed by a restarted daemon, whether it had ended or not', async (t) => {
  const store = new MemoryRunStore();
  const first = newDaemon(store, {}, {}, undefined, false);
  const url = await first.daemon.start();
  t.teardown(() => first.daemon.stop());
  const body = { workflowFile: WORKFLOW, jobStore: 'file:/tmp/toil-js-cancel-resume', args: ['well'] };
  const { id } = (await (await post(url, body, TOKEN)).json()) as { id: string };
  const del = await fetch(`${url}/workflows/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(del.status, 202);
  // The daemon dies while the run's jobs are being killed: the record says running, cancel taken.
  const midCancel = JSON.parse(JSON.stringify(store.runs)) as WorkflowRun[];
  t.match(midCancel, [{ id, status: 'running', cancelRequested: true, cancelledFrom: '127.0.0.1' }]);
  first.calls[0]!.fail(first.calls[0]!.signal.reason as Error);
  await first.daemon.workflowsDone();
  await first.daemon.stop();
  const ended = JSON.parse(JSON.stringify(store.runs)) as WorkflowRun[];
  t.match(ended, [{ id, status: 'cancelled' }], 'stopped after the run ended: recorded cancelled');
  for (const [when, saved] of [
    ['while the run was being cancelled', midCancel],
    ['after the run ended', ended],
  ] as const) {
    store.runs = JSON.parse(JSON.stringify(saved)) as WorkflowRun[];
    const next = await startDaemon(t, store);
    t.equal(next.calls.length, 0, `${when}: not resumed`);
    t.match(
      next.daemon.workflow(id),
      { status: 'cancelled', message: /cancelled/, cancelledFrom: '127.0.0.1' },
      `${when}: shown cancelled, not failed`,
    );
    await next.daemon.stop();
    t.match(store.runs, [{ id, status: 'cancelled' }], `${when}: recorded cancelled`);
  }
});

/** A call of a run's code that never returns (its `start` killed the leader): it ends with the run. */
function codeKillingTheLeader(call: Started['calls'][number]): void {
  void call
    .code(
      () =>
        new Promise<never>((_resolve, reject) =>
          call.signal.addEventListener('abort', () => reject(call.signal.reason as Error)),
        ),
    )
    .catch(() => undefined);
}

/** Waits until the run store says the run's code is running (its mark is durable). */
async function markSaved(store: MemoryRunStore, id: string): Promise<void> {
  for (let i = 0; i < 200 && !store.runs.find((r) => r.id === id)?.codeRunning; i++)
    await new Promise((r) => setImmediate(r));
}

/** Submits the well-behaved workflow on `jobStore`; resolves with the run's id. */
async function submittedWell(url: string, jobStore: string): Promise<string> {
  const answer = await post(url, { workflowFile: WORKFLOW, jobStore, args: ['well'] }, TOKEN);
  return ((await answer.json()) as { id: string }).id;
}

const copied = (runs: readonly WorkflowRun[]): WorkflowRun[] =>
  JSON.parse(JSON.stringify(runs)) as WorkflowRun[];

t.test(
  'a restarted daemon resumes from the record, and stops resuming a run whose code was running each time the leader died',
  async (t) => {
    const store = new MemoryRunStore();
    const first = await startDaemon(t, store, {}, { maxResumes: 2 });
    const body = { workflowFile: WORKFLOW, jobStore: 'file:/tmp/toil-js-resume', args: ['well'] };
    const { id } = (await (await post(first.url, body, TOKEN)).json()) as { id: string };
    // The daemon dies without a word while the run's start runs: what is saved is what the next one sees.
    codeKillingTheLeader(first.calls[0]!);
    await markSaved(store, id);
    t.equal(store.runs[0]?.codeRunning, true, 'the mark is saved before the code runs');
    const saved = copied(store.runs);
    for (let restart = 1; restart <= 3; restart++) {
      store.runs = copied(saved);
      const next = await startDaemon(t, store, {}, { maxResumes: 2 });
      const run = next.daemon.workflow(id);
      if (restart <= 2) {
        t.equal(run?.status, 'running', `restart ${restart}: resumed`);
        t.same(next.calls[0]?.submission.args, ['well']);
        t.ok(next.calls[0]?.submission.options?.bundle, 'from the saved module');
        t.equal(store.runs.find((r) => r.id === id)?.resumes, restart, 'the resume is counted');
        codeKillingTheLeader(next.calls[0]!);
        await markSaved(store, id);
      } else {
        t.equal(next.calls.length, 0, `restart ${restart}: not resumed again`);
        t.match(run, {
          status: 'failed',
          message:
            /resumed 2 times without a job completing, each time after the leader ended while the workflow's own code \(its module's load, start or finish\) was running \(workflows\.maxResumes 2\)/,
        });
        t.notOk(run?.codeRunning, 'the failed run is not shown as in its code');
      }
      saved.splice(0, saved.length, ...copied(store.runs));
      await next.daemon.stop();
    }
  },
);

t.test(
  'one run whose start kills the leader is failed for the crash loop; the run resumed beside it is never charged and finishes',
  async (t) => {
    const store = new MemoryRunStore();
    const workflows = { maxResumes: 2 };
    const first = await startDaemon(t, store, {}, workflows);
    const innocent = await submittedWell(first.url, 'file:/tmp/toil-js-innocent');
    const guilty = await submittedWell(first.url, 'file:/tmp/toil-js-guilty');
    const callOf = (s: Started, id: string) => s.calls.find((c) => c.id === id);
    // The innocent run's start returned: its jobs run. The guilty one's start kills the leader.
    t.equal(await callOf(first, innocent)!.code(async () => 'started'), 'started');
    codeKillingTheLeader(callOf(first, guilty)!);
    await markSaved(store, guilty);
    let saved = copied(store.runs);
    for (let restart = 1; restart <= 3; restart++) {
      store.runs = copied(saved);
      const next = await startDaemon(t, store, {}, workflows);
      t.equal(
        next.daemon.workflow(innocent)?.status,
        'running',
        `restart ${restart}: the innocent run resumed`,
      );
      t.notOk(next.daemon.workflow(innocent)?.resumes, `restart ${restart}: and not charged`);
      const innocentRun = callOf(next, innocent)!;
      // The innocent run's module loads (a resume checks its stored jobs) as the guilty one's start
      // comes: the guilty run, charged already, waits to run its code alone.
      let loaded!: () => void;
      const loading = innocentRun.code(() => new Promise<void>((resolve) => (loaded = resolve)));
      await markSaved(store, innocent);
      if (restart <= 2) {
        t.equal(
          next.daemon.workflow(guilty)?.resumes,
          restart,
          `restart ${restart}: the guilty run is charged`,
        );
        codeKillingTheLeader(callOf(next, guilty)!);
        await new Promise((r) => setImmediate(r));
        t.notOk(
          store.runs.find((r) => r.id === guilty)?.codeRunning,
          "the charged run's code waits while another run's code runs",
        );
        loaded();
        await loading;
        await markSaved(store, guilty);
        t.notOk(
          store.runs.find((r) => r.id === innocent)?.codeRunning,
          'the innocent run is out of its code',
        );
      } else {
        t.equal(callOf(next, guilty), undefined, `restart ${restart}: the guilty run is not resumed again`);
        t.match(next.daemon.workflow(guilty), {
          status: 'failed',
          message:
            /resumed 2 times without a job completing, each time after the leader ended while the workflow's own code/,
        });
        loaded();
        await loading;
        innocentRun.end(true);
        await next.daemon.workflowsDone();
        t.equal(next.daemon.workflow(innocent)?.status, 'succeeded', 'the innocent run finishes');
      }
      // The leader dies without a word.
      saved = copied(store.runs);
      await next.daemon.stop();
    }
  },
);

t.test(
  'a run in its code when the leader is stopped is charged at the next start; one not in its code is not',
  async (t) => {
    const store = new MemoryRunStore();
    const first = await startDaemon(t, store);
    const running = await submittedWell(first.url, 'file:/tmp/toil-js-jobs-running');
    const starting = await submittedWell(first.url, 'file:/tmp/toil-js-starting');
    // A start that signals its leader to stop (process.kill(process.ppid)) is ended by the stop.
    codeKillingTheLeader(first.calls.find((c) => c.id === starting)!);
    await markSaved(store, starting);
    await first.daemon.stop();
    const next = await startDaemon(t, store);
    t.equal(next.daemon.workflow(starting)?.resumes, 1, 'the run in its code is charged');
    t.notOk(next.daemon.workflow(running)?.resumes, 'the run whose jobs were running is not');
  },
);

t.test(
  'a leader that ends while no run is in its code names no culprit: every resumed run is charged, and one that never moves is failed after maxResumes',
  async (t) => {
    // A fault of the daemon's own that a run's state sets off at each start loops with no code
    // running: charging no one would let it loop for ever.
    const store = new MemoryRunStore();
    const workflows = { maxResumes: 2 };
    const first = await startDaemon(t, store, {}, workflows);
    const a = await submittedWell(first.url, 'file:/tmp/toil-js-no-culprit-a');
    const b = await submittedWell(first.url, 'file:/tmp/toil-js-no-culprit-b');
    let saved = copied(store.runs);
    t.notOk(
      saved.some((r) => r.codeRunning),
      'no run is in its code when the leader dies',
    );
    for (let restart = 1; restart <= 3; restart++) {
      store.runs = copied(saved);
      const next = await startDaemon(t, store, {}, workflows);
      for (const id of [a, b])
        if (restart <= 2) t.equal(next.daemon.workflow(id)?.resumes, restart, `restart ${restart}: charged`);
        else
          t.match(
            next.daemon.workflow(id),
            {
              status: 'failed',
              message:
                /resumed 2 times without a job completing \(workflows\.maxResumes 2\); not resumed again/,
            },
            `restart ${restart}: failed, not resumed again`,
          );
      saved = copied(store.runs);
      await next.daemon.stop();
    }
  },
);

t.test(
  'a restarted daemon answers for a run it is about to resume, not 404, while it checks the run',
  async (t) => {
    // toil run --leader follows its run through a restart; a 404 in between made it give up on a
    // run that then resumed.
    const store = new MemoryRunStore();
    const first = await startDaemon(t, store);
    const body = { workflowFile: WORKFLOW, jobStore: 'file:/tmp/toil-js-answer', args: ['well'] };
    const { id } = (await (await post(first.url, body, TOKEN)).json()) as { id: string };
    await first.daemon.stop();
    const port = await freePort();
    let checked!: (killed: boolean) => void;
    const killCheck = new Promise<boolean>((resolve) => (checked = resolve));
    // The resume waits on the kill check (a job store read, on S3 a round trip) with the port open.
    const { daemon, calls } = newDaemon(store, { port }, {}, () => killCheck);
    const started = daemon.start();
    t.teardown(() => daemon.stop());
    let answer: Response | undefined;
    for (let i = 0; i < 200 && !answer; i++)
      answer = await fetch(`http://127.0.0.1:${port}/workflows/${id}`).catch(async () => {
        await new Promise((r) => setTimeout(r, 10));
        return undefined;
      });
    t.equal(answer?.status, 200, 'answered while the resume waits');
    t.match(await answer?.json(), { id, status: 'running' });
    t.equal(calls.length, 0, 'not resumed yet');
    checked(false);
    await started;
    t.equal(calls.length, 1, 'then resumed');
    t.equal(daemon.workflow(id)?.status, 'running');
  },
);

t.test(
  'a stop (SIGTERM) suspends a running workflow: its runner ends, the next start resumes it',
  async (t) => {
    const store = new MemoryRunStore();
    const first = await startDaemon(t, store);
    const body = { workflowFile: WORKFLOW, jobStore: 'file:/tmp/toil-js-suspend', args: ['well'] };
    const { id } = (await (await post(first.url, body, TOKEN)).json()) as { id: string };
    t.equal(first.calls.length, 1, 'running');
    await first.daemon.stop();
    // Left running, the runner kept the stopped process alive, and the job store held.
    t.ok(first.calls[0]!.signal.aborted, "the run's runner was told to end");
    t.match(store.runs, [{ id, status: 'running' }], 'recorded as running, for the next start');
    t.notOk('finishedAt' in store.runs[0]!, 'not finished');
    t.ok(store.modules.has(id), 'its module is kept');
    const next = await startDaemon(t, store);
    t.equal(next.daemon.workflow(id)?.status, 'running', 'the next start resumes it');
    t.equal(next.calls.length, 1);
    next.calls[0]!.end(true);
    await next.daemon.workflowsDone();
    t.equal(next.daemon.workflow(id)?.status, 'succeeded');
  },
);
