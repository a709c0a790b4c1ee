import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { AnsweredHosts } from '../../src/leader/answeredHosts.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { cancelWorkflow, submitWorkflow } from '../../src/leader/submitClient.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { fakeDaemonDeps } from '../fixtures/leaderFakes.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';

/**
 * A web page can have a browser send requests to the leader under the page's own name (its DNS
 * answers 127.0.0.1: DNS rebinding) and read the answers: /status names workflows, files and job
 * stores. Such a request names the page's host in its Host header: the leader refuses every host
 * it does not answer to (421, on every route), and answers its addresses, localhost and the names
 * of http.allowedHosts.
 */
const catalogue = await readCatalogue();
const TOKEN = 'test-token-0123456789abcdef';
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

async function startDaemon(
  t: Test,
  http: Record<string, unknown> = {},
): Promise<{ url: string; port: number }> {
  const clock = new ManualClock();
  const config = parseLeaderConfigObject(
    {
      http: { port: 0, ...http },
      scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'] },
    },
    catalogue,
  );
  const daemon = new LeaderDaemon({
    ...fakeDaemonDeps(clock, config),
    newBatchSystem: () => ({ issuedJobIds: () => new Set<string>() }) as never,
    // Runs until cancelled.
    runWorkflow: (_s, _b, _p, signal) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error)),
      ),
    auth: { token: TOKEN, metrics: 'open', status: 'open' },
  });
  const url = await daemon.start();
  t.teardown(() => daemon.stop());
  return { url, port: Number(new URL(url).port) };
}

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

/** One request to the leader at `url` naming `host` in its Host header, as a browser would send it. */
function asHost(
  url: string,
  host: string,
  path: string,
  init: { method?: string; token?: string; body?: string } = {},
): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: init.method ?? 'GET',
        setHost: false,
        headers: {
          host,
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** An HTTP/1.0 GET with no Host header at all, as an old probe sends it. */
function withoutHost(url: string, path: string): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (raw += c));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = '', body = ''] = raw.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.\d (\d+)/.exec(head)?.[1] ?? 0);
      const type = /^content-type: (.*)$/im.exec(head)?.[1] ?? '';
      resolve({ status, type, body });
    });
    socket.write(`GET ${path} HTTP/1.0\r\n\r\n`);
  });
}

const errorOf = (a: Answer): string => (JSON.parse(a.body) as { error: string }).error;

t.test(
  'a request naming another host is refused on every route, open or not, and says how to allow it',
  async (t) => {
    const { url, port } = await startDaemon(t);
    const evil = `evil.example:${port}`;
    const status = await asHost(url, evil, '/status');
    t.equal(status.status, 421, '/status: 421 Misdirected Request');
    t.equal(
      errorOf(status),
      `Host '${evil}' is not a name this leader answers to (its IP addresses, localhost and the names in its http.allowedHosts; another name may be a web page's, rebound to this machine); to reach it as evil.example, add evil.example to http.allowedHosts in the leader's config and restart it`,
    );
    t.notMatch(status.body, /workflows|nodes|leaderId/, 'nothing of the status in the answer');
    const page = await asHost(url, evil, '/');
    t.equal(page.status, 421, 'the status page: 421');
    t.notMatch(page.body, /<html/i, 'no page');
    t.equal((await asHost(url, evil, '/app.js')).status, 421, "the page's script: 421");
    for (const path of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/scaler/plan',
      '/status/history',
      '/workflows/x',
      '/nowhere',
    ])
      t.equal((await asHost(url, evil, path)).status, 421, `${path}: 421`);
    const body = JSON.stringify({ workflowFile: WORKFLOW, jobStore: 'file:/nonexistent/js', args: [] });
    const post = await asHost(url, evil, '/workflows', { method: 'POST', token: TOKEN, body });
    t.equal(post.status, 421, 'POST /workflows with the right token: 421 all the same');
    const held = await asHost(url, `127.0.0.1:${port}`, '/status');
    t.same((JSON.parse(held.body) as { workflows: unknown[] }).workflows, [], 'and nothing was taken');
    t.equal(
      (await asHost(url, evil, '/workflows/x', { method: 'DELETE', token: TOKEN })).status,
      421,
      'DELETE with the token: 421',
    );
    for (const host of ['EVIL.example', 'localhost.evil.example', '127.0.0.1.evil.example', 'evil.example.'])
      t.equal((await asHost(url, host, '/status')).status, 421, `${host}: 421`);
    const malformed = await asHost(url, 'evil example', '/status');
    t.equal(malformed.status, 421, 'a Host of another form: 421');
    t.match(errorOf(malformed), /^Host 'evil example' is not of the form HOST or HOST:PORT/);
  },
);

t.test("the leader's addresses and localhost are answered, with or without the port", async (t) => {
  const { url, port } = await startDaemon(t);
  const hosts = [
    `127.0.0.1:${port}`,
    '127.0.0.1',
    `localhost:${port}`,
    'localhost',
    'LocalHost.',
    `[::1]:${port}`,
    '[::1]',
    // A forwarded port (ssh -L 9000:127.0.0.1:PORT) and an address the leader cannot know (an EC2
    // public one behind NAT): no name was rebound.
    'localhost:9000',
    '203.0.113.7:8080',
  ];
  for (const host of hosts) {
    const status = await asHost(url, host, '/status');
    t.equal(status.status, 200, `${host}: /status answered`);
    t.ok('workflows' in (JSON.parse(status.body) as object), `${host}: the status`);
  }
  const page = await asHost(url, `127.0.0.1:${port}`, '/');
  t.equal(page.status, 200, 'the status page answered');
  t.match(page.body, /<title>toil leader<\/title>/);
  t.equal(
    (await asHost(url, `localhost:${port}`, '/status/history')).status,
    200,
    "the page's own fetch answered",
  );
  t.equal((await fetch(`${url}/healthz`)).status, 200, 'fetch at the URL the leader gives: answered');
  const dir = testDir(t, {});
  const run = await submitWorkflow(url, TOKEN, {
    workflowFile: WORKFLOW,
    jobStore: `file:${dir}/js`,
    args: [],
  });
  t.equal(run.status, 'running', 'toil run --leader URL: submitted');
  t.equal((await cancelWorkflow(url, TOKEN, run.id)).id, run.id, 'toil cancel --leader URL: cancelled');
  t.equal(
    (await asHost(url, `evil.example:${port}`, '/status')).status,
    421,
    'while another name is refused',
  );
});

t.test('names of http.allowedHosts are answered, a .domain with every name under it', async (t) => {
  const { url, port } = await startDaemon(t, { allowedHosts: ['leader.example.org', '.corp.example'] });
  for (const host of [
    `leader.example.org:${port}`,
    'Leader.Example.Org',
    'a.corp.example',
    `b.a.corp.example:${port}`,
    'corp.example',
  ])
    t.equal((await asHost(url, host, '/status')).status, 200, `${host}: answered`);
  for (const host of ['other.example.org', 'evilcorp.example', 'corp.example.evil.example', 'example.org'])
    t.equal((await asHost(url, host, '/status')).status, 421, `${host}: refused`);
  t.equal((await asHost(url, 'leader.example.org', '/')).status, 200, 'the status page under the name');
});

t.test('a request without a Host header (HTTP/1.0) is answered: no browser sends one', async (t) => {
  const { url } = await startDaemon(t);
  const status = await withoutHost(url, '/status');
  t.equal(status.status, 200);
  t.ok('workflows' in (JSON.parse(status.body) as object), 'the status');
  t.equal((await withoutHost(url, '/healthz')).status, 200, '/healthz');
  t.equal((await asHost(url, '', '/status')).status, 200, 'an empty Host: answered too');
  t.equal(
    (await asHost(url, 'evil.example', '/status')).status,
    421,
    'while a Host of another name is refused',
  );
});

t.test("listening on every interface, the machine's hostname is answered, and not otherwise", async (t) => {
  const machine = 'node7.cluster.example';
  for (const wildcard of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0']) {
    const hosts = new AnsweredHosts(wildcard, [], machine);
    t.equal(hosts.refusal(`${machine}:8080`), undefined, `${wildcard}: its hostname`);
    t.equal(hosts.refusal('NODE7:8080'), undefined, `${wildcard}: its first label`);
    t.type(hosts.refusal('node8.cluster.example'), 'string', `${wildcard}: another machine's name refused`);
  }
  const loopback = new AnsweredHosts('127.0.0.1', [], machine);
  t.type(loopback.refusal(machine), 'string', 'on 127.0.0.1 the hostname is not answered');
  t.equal(loopback.refusal('localhost'), undefined, 'localhost is');
  const named = new AnsweredHosts('leader.example.org', [], machine);
  t.equal(named.refusal('leader.example.org:8080'), undefined, 'the name http.host gives is answered');
});
