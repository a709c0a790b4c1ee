import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  leaderConfig,
  leaderConfigOnCloud,
  startClusterCloud,
  startEmbeddedLeader,
} from '../fixtures/leaderE2e.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';
import { countingListener } from '../fixtures/countingListener.js';
import { testDir } from '../fixtures/testDir.js';

/** A port held by another process's listener for the length of the test. */
async function heldPort(t: Test): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

function oneLine(t: Test, stderr: string, expect: RegExp, what: string): void {
  const lines = stderr.trim().split('\n');
  t.equal(lines.length, 1, `${what}: one line (${stderr})`);
  t.match(lines[0], expect, what);
  t.notMatch(stderr, /\n\s+at |internal error/, `${what}: no stack trace`);
}

t.test(
  'toil leader: a busy port, one web clients refuse, or another bad start input is one line before anything starts (no local cloud, no instance)',
  async (t) => {
    const dir = scratchDir(t);
    const port = await heldPort(t);
    const cases: { what: string; args: string[]; env?: Record<string, string>; expect: RegExp }[] = [];
    // The port given with --port (npm start -- --port N passes it through).
    cases.push({
      what: '--port',
      args: ['leader', '--config', 'config/leader.yaml', '--port', String(port)],
      expect: new RegExp(
        `^toil: port ${port} on 127\\.0\\.0\\.1 is in use \\(another toil leader\\?\\); choose another with --port N or http\\.port in config/leader\\.yaml$`,
      ),
    });
    // The port the config names.
    const config = join(dir, 'leader.yaml');
    writeFileSync(
      config,
      leaderConfig([
        [/port: 8080/, `port: ${port}`],
        [/jobStore: .*/, `jobStore: file:${join(dir, 'state')}`],
      ]),
    );
    cases.push({
      what: 'http.port',
      args: ['leader', '--config', config],
      expect: /is in use .*http\.port in .*leader\.yaml$/,
    });
    const elsewhere = join(dir, 'elsewhere.yaml');
    writeFileSync(
      elsewhere,
      leaderConfig([
        [/host: 127\.0\.0\.1/, 'host: 10.9.9.9'],
        [/port: 8080/, 'port: 0'],
        [/jobStore: .*/, `jobStore: file:${join(dir, 'state')}`],
      ]),
    );
    cases.push({
      what: 'http.host no address of this machine',
      args: ['leader', '--config', elsewhere],
      expect:
        /^toil: http\.host 10\.9\.9\.9 in .*elsewhere\.yaml: not an address of this machine \(EADDRNOTAVAIL\); expected e\.g\. 127\.0\.0\.1, or 0\.0\.0\.0 for every interface$/,
    });
    cases.push({
      what: 'a port that is not a number',
      args: ['leader', '--config', config, '--port', 'http'],
      expect: /^toil: --port http: expected a port number from 0 to 65535$/,
    });
    // A port web clients refuse to connect to (the Fetch standard's bad ports): the leader served
    // there, and every toil run --leader failed against it with fetch's "bad port".
    cases.push({
      what: 'a --port web clients refuse',
      args: ['leader', '--config', config, '--port', '6000'],
      expect:
        /^toil: --port 6000: port 6000 is one web clients refuse to connect to \(a "bad port" of the Fetch standard: toil run --leader's client and browsers alike\), so nothing could reach this leader; choose another with --port N \(e\.g\. 8080\)$/,
    });
    const badPort = join(dir, 'badport.yaml');
    writeFileSync(
      badPort,
      leaderConfig([
        [/port: 8080/, 'port: 10080'],
        [/jobStore: .*/, `jobStore: file:${join(dir, 'state')}`],
      ]),
    );
    cases.push({
      what: 'an http.port web clients refuse',
      args: ['leader', '--config', badPort],
      expect:
        /^toil: http\.port 10080 in \S+\/badport\.yaml: port 10080 is one web clients refuse to connect to \(.*\), so nothing could reach this leader; choose another with --port N or http\.port in \S+\/badport\.yaml \(e\.g\. 8080\)$/,
    });
    // Where every run's scratch goes: as toil run refuses it, not made and not found out per run.
    cases.push({
      what: 'a TOIL_WORKDIR that does not exist',
      args: ['leader', '--config', config],
      env: { TOIL_WORKDIR: join(dir, 'no-such-dir') },
      expect:
        /^toil: work directory \S+\/no-such-dir \(TOIL_WORKDIR\): it does not exist \(expected an existing directory: make it first\)$/,
    });
    for (const c of cases) {
      const started = Date.now();
      const { child, done } = startToil(c.args, c.env ? { env: c.env } : {});
      // A leader that starts anyway serves on: it is stopped after 30 s and the case fails.
      const stopper = setTimeout(() => child.kill('SIGTERM'), 30_000);
      const r = await done.finally(() => clearTimeout(stopper));
      t.equal(r.code, 2, `${c.what}: exit 2`);
      oneLine(t, r.stderr, c.expect, c.what);
      t.notMatch(r.stderr + r.stdout, /local cloud|EC2|launch/i, `${c.what}: nothing was started`);
      t.ok(Date.now() - started < 15_000, `${c.what}: refused at once`);
    }
  },
);

t.test(
  'toil leader: a clusterName with no cluster in the region is one line naming it, the region and the clusters there',
  async (t) => {
    const dir = scratchDir(t);
    const cloud = await startClusterCloud(t, 'real');
    const config = join(dir, 'leader.yaml');
    writeFileSync(config, leaderConfigOnCloud(dir, cloud, 'raal', [[/localcloud:\n( {2}.*\n)+/, '']]));
    // A leader that starts anyway serves on: it is stopped after 30 s and the test fails.
    const { child, done } = startToil(['leader', '--config', config], { cwd: dir });
    const stopper = setTimeout(() => child.kill('SIGTERM'), 30_000);
    const r = await done.finally(() => clearTimeout(stopper));
    t.equal(r.code, 2, 'exit 2 at once: the config is to fix');
    oneLine(
      t,
      r.stderr,
      new RegExp(
        `^toil: provisioner\\.clusterName 'raal': no such cluster in region us-west-2 \\(no leader instance tagged clusterName=raal\\); clusters here: real; check provisioner\\.clusterName and provisioner\\.zone in ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
      'a mistyped clusterName',
    );
    t.notMatch(r.stdout, /status at/, 'nothing was served');
  },
);

/**
 * TOIL_AWS_NODE_DEBUG=True asks to keep the EC2 instances that fail to boot; launch-cluster and an
 * autoscaled toil run refuse it (toil-ts cannot keep them), but the daemon, which scales a cluster
 * too, ignored it and terminated them. With an aws provisioner it is refused as they refuse it,
 * before EC2 is asked. The embedded local cloud reads no TOIL_AWS_* variable: it starts.
 */
t.test(
  'toil leader with an aws provisioner refuses TOIL_AWS_NODE_DEBUG=True before asking EC2; on the embedded local cloud it starts',
  async (t) => {
    const dir = scratchDir(t);
    const ec2 = await countingListener(t);
    const config = join(dir, 'aws.yaml');
    writeFileSync(
      config,
      leaderConfigOnCloud(dir, { ec2Url: ec2.url, mesosMaster: '127.0.0.1:1' }, 'c', [
        [/localcloud:\n( {2}.*\n)+/, ''],
      ]),
    );
    const keys = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
    const { child, done } = startToil(['leader', '--config', config], {
      cwd: dir,
      env: { ...keys, TOIL_AWS_NODE_DEBUG: 'True' },
    });
    // A leader that starts anyway serves on: it is stopped after 30 s and the test fails.
    const stopper = setTimeout(() => child.kill('SIGTERM'), 30_000);
    const r = await done.finally(() => clearTimeout(stopper));
    t.equal(r.code, 2, 'exit 2');
    oneLine(
      t,
      r.stderr,
      /^toil: TOIL_AWS_NODE_DEBUG=True: toil-ts does not keep EC2 instances that fail to boot for debugging \(its scaler terminates and replaces them, and destroy-cluster removes them all\): unset it, or set it to False$/,
      'TOIL_AWS_NODE_DEBUG=True with an aws provisioner',
    );
    t.equal(ec2.connections(), 0, 'EC2 was not asked');
    t.notMatch(r.stderr + r.stdout, /status at/, 'nothing was served');

    const local = join(dir, 'local');
    mkdirSync(local);
    const { leader } = await startEmbeddedLeader(t, local, undefined, { TOIL_AWS_NODE_DEBUG: 'True' });
    leader.child.kill('SIGTERM');
    t.equal((await leader.done).code, 0, 'the embedded leader served, then stopped cleanly');
  },
);

t.test(
  'a second toil leader on the same leader state is one line, exit 2, and the first runs on',
  async (t) => {
    const dir = testDir(t, {});
    const { leader: first, base } = await startEmbeddedLeader(t, dir);
    // Another port, the same state (jobStore): it would resume the first one's workflows and adopt
    // (and scale in) the instances it runs.
    const r = await runToil(['leader', '--config', join(dir, 'leader.yaml'), '--port', '0'], { cwd: dir });
    t.equal(r.code, 2, `refused (${r.stderr.trim()})`);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('{'));
    oneLine(
      t,
      lines.join('\n'),
      /^toil: leader state file:\S+\/state \(jobStore in the config\) is in use by the toil leader on \S+ \(pid \d+, generation 0\) until \S+ \(expected one leader per state: stop that one, or give this one another jobStore/,
      'a second leader on one state',
    );
    t.notMatch(r.stderr, /local (EC2|Mesos)|instances launched/, 'it started nothing');
    t.equal((await fetch(`${base}/healthz`)).status, 200, 'the first leader still answers');
    first.child.kill('SIGTERM');
    t.equal((await first.done).code, 0, 'and stops cleanly');
    const again = await startEmbeddedLeader(t, dir);
    t.equal(
      (await fetch(`${again.base}/healthz`)).status,
      200,
      'once it stopped, a leader takes the state at once',
    );
  },
);
