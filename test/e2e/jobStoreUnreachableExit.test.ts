import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { autoscaledRunArgs, startClusterCloud, startEmbeddedLeader } from '../fixtures/leaderE2e.js';
import { freePort } from '../fixtures/motoServer.js';
import { REPO_ROOT, runToil, scratchDir, type ToilResult } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

/** Every command that reads a job store, as a user would run it on `locator`. */
function readingCommands(locator: string): (readonly string[])[] {
  return [
    ['status', locator],
    ['status', locator, '--failIfNotComplete', '--json'],
    ['stats', locator],
    ['kill', locator],
    ['clean', locator],
    ['debug-file', locator, '--listFilesInJobStore'],
    ['debug-job', locator, 'add'],
  ];
}

/**
 * `toil run` on `locator`, as Toil's docs start a workflow (a new store) and resume it: its
 * leader reads the store first, so it says the same. Its own scratch dir under `workDir`, so no
 * other run's leftover scratch is reported before that line.
 */
function runCommands(locator: string, workDir: string): (readonly string[])[] {
  return [
    ['run', TREE, locator, '--workDir', workDir, '--out', 'out.txt', '--log', 'exec.log'],
    ['run', TREE, locator, '--workDir', workDir, '--restart', '--out', 'out.txt', '--log', 'exec.log'],
  ];
}

/**
 * Makes the kept store's objects folder a link to itself (the real one kept as objects.kept): every
 * read of an object fails with ELOOP, while the store's marker (beside it) still says it is a job store.
 */
function loopObjects(dir: string): void {
  renameSync(join(dir, 'js/objects'), join(dir, 'js/objects.kept'));
  symlinkSync('objects', join(dir, 'js/objects'));
}

t.test(
  'every command that reads a job store, and toil run, exits 3 when its S3 endpoint does not answer: one line, no report, no stack trace',
  async (t) => {
    const dir = testDir(t);
    // A port nothing listens on: every request is refused, and the S3 client's retries run out.
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const env = {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    };
    // The start and the --restart each with a scratch dir of its own: they run at the same time.
    const [start, restart] = ['start', 'restart'].map((name, i) => {
      const work = join(dir, `work-${name}`);
      mkdirSync(work);
      return runCommands('aws:us-west-2:unreached', work)[i]!;
    });
    const commands = [...readingCommands('aws:us-west-2:unreached'), start!, restart!];
    // Each command spends seconds waiting out its S3 client's retries, not computing: side by side.
    const results = await Promise.all(commands.map((args) => runToil(args, { cwd: dir, env })));
    for (const [i, args] of commands.entries()) {
      const r = results[i]!;
      const name = args.join(' ');
      // 1 is each command's word for what it found in a store it read (damaged, a job that threw).
      t.equal(r.code, 3, `${name}: exit 3, the store could not be reached (not 1, not bad input)`);
      t.equal(r.stdout, '', `${name}: no report`);
      t.match(
        r.stderr,
        new RegExp(
          `^toil: S3 HeadBucket on unreached--toil: nothing answers at the S3 endpoint ${endpoint.replace(/[.]/g, '\\.')} \\(ECONNREFUSED, after retries\\) \\(expected S3 there; AWS_ENDPOINT_URL_S3 sets the endpoint\\)\n$`,
        ),
        `${name}: one line naming the request, the bucket, the endpoint and why`,
      );
      t.notMatch(r.stderr, /internal error|\n\s+at /, `${name}: no stack trace`);
    }
  },
);

/**
 * The run that leaves a kept store, once for the file (each test damages a copy of it): the
 * directory it ran in, and its result.
 */
let keptRun: Promise<{ dir: string; ran: ToilResult }> | undefined;
/** The file's own test: the kept run's directory is removed when the file ends. */
const file = t;

/** A test dir holding the job store `js` of a workflow that ran to its end, kept (and exec.log). */
async function keptStore(t: Test): Promise<string> {
  keptRun ??= (async () => {
    const dir = scratchDir(file);
    const ran = await runToil(
      ['run', TREE, 'file:./js', '--clean', 'never', '--out', 'out.txt', '--log', 'exec.log'],
      { cwd: dir },
    );
    return { dir, ran };
  })();
  const { dir: ranIn, ran } = await keptRun;
  t.equal(ran.code, 0, `the workflow ran and its store was kept: ${ran.stderr}`);
  const dir = testDir(t);
  cpSync(ranIn, dir, { recursive: true });
  return dir;
}

t.test(
  'every command that reads a job store, and toil run --restart, exits 3 when its file: store cannot be read (a symbolic link loop): one line, nothing deleted',
  async (t) => {
    const dir = await keptStore(t);
    loopObjects(dir);
    const store = readdirSync(join(dir, 'js')).sort();
    const objects = readdirSync(join(dir, 'js/objects.kept')).sort();
    const work = join(dir, 'work');
    mkdirSync(work);
    for (const args of [...readingCommands('file:./js'), runCommands('file:./js', work)[1]!]) {
      const r = await runToil(args, { cwd: dir });
      const name = args.join(' ');
      t.equal(r.code, 3, `${name}: exit 3, the store could not be read (not 1, not bad input)`);
      t.equal(r.stdout, '', `${name}: no report`);
      t.match(
        r.stderr,
        /^toil: job store file:\.\/js could not be read: a loop of symbolic links in its path \(ELOOP\) (reading|listing) \S+( objects)? \(expected a readable job store: fix its path or its disk, then run again\)\n$/,
        `${name}: one line naming the store, why and what it was reading`,
      );
      t.notMatch(r.stderr, /internal error|\n\s+at /, `${name}: no stack trace`);
    }
    t.ok(store.includes('.toil-jobstore'), 'the store was a job store to read');
    t.same(readdirSync(join(dir, 'js')).sort(), store, 'clean deleted nothing of the store');
    t.same(
      readdirSync(join(dir, 'js/objects.kept')).sort(),
      objects,
      'clean deleted nothing it could not read',
    );
  },
);

t.test("each reading command's --help gives exit 3 for a store it could not reach or read", async (t) => {
  for (const command of ['status', 'stats', 'kill', 'clean', 'debug-file', 'debug-job']) {
    const r = await runToil([command, '--help']);
    t.equal(r.code, 0, `${command} --help`);
    t.match(
      r.stdout.replace(/\s+/g, ' '),
      '3 the job store could not be reached or read (its endpoint does not answer or fails after retries, or its disk refuses reads)',
      `${command} --help names exit 3`,
    );
  }
});

t.test(
  'one commit the disk will not let a file: store read: status and --restart name it and exit 3, rather than report its job not run (and run it again)',
  async (t) => {
    const dir = await keptStore(t);
    const commits = join(dir, 'js/objects/commits%');
    const [jobId] = readdirSync(commits).sort();
    renameSync(join(commits, jobId!), join(dir, 'commit.kept'));
    symlinkSync(jobId!, join(commits, jobId!));
    const executions = readFileSync(join(dir, 'exec.log'), 'utf8');
    const work = join(dir, 'work');
    mkdirSync(work);
    for (const args of [['status', 'file:./js'], runCommands('file:./js', work)[1]!]) {
      const r = await runToil(args, { cwd: dir });
      const name = args.filter((a) => a !== TREE).join(' ');
      t.equal(r.code, 3, `${name}: exit 3`);
      t.equal(r.stdout, '', `${name}: no report built without the commit`);
      t.equal(
        r.stderr,
        `toil: job store file:./js could not be read: a loop of symbolic links in its path (ELOOP) reading commits/${jobId} (expected a readable job store: fix its path or its disk, then run again)\n`,
        `${name}: one line naming the commit`,
      );
    }
    t.equal(readFileSync(join(dir, 'exec.log'), 'utf8'), executions, 'no job ran again');
  },
);

t.test(
  'toil run --leader on a file: store the leader daemon cannot read (a symbolic link loop) exits 3 as a local run does: one line, no advice to submit again, no stack in the daemon log',
  async (t) => {
    const dir = await keptStore(t);
    loopObjects(dir);
    const { leader, base, env } = await startEmbeddedLeader(t, dir);
    mkdirSync(join(dir, 'work'));
    const local = await runToil(runCommands('file:./js', join(dir, 'work'))[1]!, { cwd: dir });
    t.equal(local.code, 3, `the local run: exit 3 (${local.stderr})`);
    const onLeader = await runToil(
      ['run', TREE, 'file:./js', '--leader', base, '--out', 'out.txt', '--log', 'exec.log'],
      { cwd: dir, env },
    );
    t.equal(onLeader.code, 3, 'the run on the leader: exit 3, as the local one (not 1, a failed job)');
    t.match(
      onLeader.stderr,
      new RegExp(
        `\\ntoil: the leader at ${base.replace(/[.]/g, '\\.')}: job store file:${dir.replace(/[.]/g, '\\.')}/js could not be read: a loop of symbolic links in its path \\(ELOOP\\) reading leader\\.json \\(expected a readable job store: fix its path or its disk, then run again\\)\\n$`,
      ),
      'the last line names the leader, the store, why and what it was reading',
    );
    t.notMatch(
      onLeader.stderr,
      /workflow failed|submit again/,
      'no failed workflow, no advice to resubmit as is',
    );
    t.notMatch(
      leader.output(),
      /workflow failed to run|\bat \S+\.[jt]s:\d+/,
      'the daemon logs one line, no stack',
    );
    t.match(leader.output(), /its job store could not be reached or read/);
  },
);

t.test(
  'toil run --provisioner aws --restart on a file: store its leader cannot read (a symbolic link loop) exits 3 as a local run does',
  async (t) => {
    const dir = await keptStore(t);
    loopObjects(dir);
    mkdirSync(join(dir, 'tmp'));
    mkdirSync(join(dir, 'work'));
    const env = { TMPDIR: join(dir, 'tmp') };
    const cloud = await startClusterCloud(t, 'unread', { env });
    const r = await runToil(
      [
        ...autoscaledRunArgs(
          [
            'test/fixtures/workflowTree.ts',
            'file:./js',
            '--restart',
            '--out',
            'out.txt',
            '--log',
            'exec.log',
          ],
          cloud,
          'unread',
          join(dir, 'work'),
        ),
      ],
      { cwd: dir, env: { ...env, AWS_ENDPOINT_URL_EC2: cloud.ec2Url, TOIL_WORKDIR: dir } },
    );
    t.equal(r.code, 3, `exit 3, the store could not be read (not 1, a failed job)\n${r.stderr.slice(-3000)}`);
    t.match(
      r.stderr,
      /^toil: job store file:\S*js could not be read: a loop of symbolic links in its path \(ELOOP\) reading \S+ \(expected a readable job store: fix its path or its disk, then run again\)$/m,
      'one line naming the store, why and what it was reading',
    );
    t.notMatch(
      r.stderr,
      /workflow failed|internal error|\n\s+at \S+\.[jt]s:\d+/,
      'no failed workflow, no stack',
    );
  },
);
