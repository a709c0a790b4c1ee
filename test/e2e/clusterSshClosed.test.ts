import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { endpointWithKeyPair } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * Toil's launch-cluster opens SSH to the world; toil-ts's only to --sshCidr. A cluster launched as
 * Toil's docs write it (no --sshCidr) drops ssh until it times out, so ssh- and rsync-cluster say
 * so, naming the group and how to open it, before they run ssh (which still runs: the user may
 * have opened the port since). `ssh` and `rsync` on PATH record the arguments they were handed.
 */
t.setTimeout(60_000);

const RECORDER = `#!/bin/sh
printf '%s\\0' "\${0##*/}" "$@" > "$ARGV_FILE"
`;

t.test('ssh- and rsync-cluster warn when no security group of the leader lets SSH in', async (t) => {
  const { env: endpointEnv } = await endpointWithKeyPair(t);
  const dir = testDir(t);
  for (const program of ['ssh', 'rsync']) writeFileSync(join(dir, program), RECORDER, { mode: 0o755 });
  const argvFile = join(dir, 'argv');
  const env = {
    ...endpointEnv,
    TOIL_AWS_ZONE: 'us-west-2a',
    ARGV_FILE: argvFile,
    PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
  };
  const launch = (name: string, extra: string[]) =>
    runToil(['launch-cluster', name, '--leaderNodeType', 't2.medium', '--keyPairName', 'k', ...extra], env);

  const closedLaunch = await launch('closed', []);
  t.equal(closedLaunch.code, 0, closedLaunch.stderr);
  const group = /security group (sg-[0-9a-f]+) \(closed\) created/.exec(closedLaunch.stdout)?.[1];
  t.ok(group, 'launch-cluster names the group it made');
  const notice = `toil: no security group of the leader of 'closed' (${group}) lets SSH (TCP 22) in, so ssh will time out: launch-cluster opens it only to --sshCidr; open it to your address with 'aws ec2 authorize-security-group-ingress --region us-west-2 --group-id ${group} --protocol tcp --port 22 --cidr YOUR.IP/32'\n`;

  for (const args of [
    ['ssh-cluster', 'closed', 'ls'],
    ['rsync-cluster', 'closed', 'a.txt', ':/tmp'],
  ]) {
    rmSync(argvFile, { force: true });
    const r = await runToil(args, env);
    t.equal(r.code, 0, `${args[0]}: exit 0 (stderr: ${r.stderr})`);
    t.equal(r.stderr, notice, `${args[0]}: one line saying why ssh cannot get in, and how to open it`);
    t.ok(existsSync(argvFile), `${args[0]}: ${args[0] === 'ssh-cluster' ? 'ssh' : 'rsync'} still runs`);
  }

  const openLaunch = await launch('open', ['--sshCidr', '127.0.0.1/32']);
  t.equal(openLaunch.code, 0, openLaunch.stderr);
  rmSync(argvFile, { force: true });
  const open = await runToil(['ssh-cluster', 'open', 'ls'], env);
  t.equal(open.code, 0, open.stderr);
  t.equal(open.stderr, '', 'a leader launched with --sshCidr: no warning');
  t.same(readFileSync(argvFile, 'utf8').split('\0').slice(0, 3), ['ssh', '-L', '5050:localhost:5050']);
});
