import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { openObjectStore } from '../../src/main.js';
import { leaderConfig, startToilProcess } from '../fixtures/leaderE2e.js';
import {
  MOTO_MISSING_REASON,
  motoAvailable,
  motoS3Client,
  motoS3Env,
  startMoto,
} from '../fixtures/motoServer.js';
import { scratchDir } from '../fixtures/workflowCli.js';

const { ListObjectsV2Command, PutObjectCommand } = s3Sdk();

t.setTimeout(180_000);

/**
 * An aws: leader state as a leader wrote it before the state was leased: its documents and a
 * submitted module, each written by the job store (with its integrity metadata), no leader.json.
 */
async function oldLeaderState(env: Record<string, string>, name: string): Promise<void> {
  const store = openObjectStore(`aws:us-west-2:${name}`, { env });
  await store.create();
  await store.put('leader/workflows.json', '[]');
  await store.put('leader/status-history.json', '[]');
  await store.put('leader/submissions/wf-1.mjs', 'export default {};');
}

t.test(
  "the leader daemon starts on an aws: state of its own key layout that has no leader.json (written before the lease), says so when that state's S3 stalls, and still refuses a bucket that holds anything else",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const moto = await startMoto();
    t.teardown(() => moto.stop());
    const env = motoS3Env(moto);
    const s3 = motoS3Client(moto);
    t.teardown(() => s3.destroy());
    const dir = scratchDir(t, 'toil-old-state-');
    const keys = async (bucket: string): Promise<string[]> =>
      ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key ?? '');
    const daemonOn = (name: string): ReturnType<typeof startToilProcess> => {
      const cfgPath = join(dir, `${name}.yaml`);
      writeFileSync(
        cfgPath,
        leaderConfig([
          ['port: 8080', 'port: 0'],
          ['file:./toil-leader-state', `aws:us-west-2:${name}`],
          ['bootDelay: 2s', 'bootDelay: 300ms'],
          // A tick a second: its first save after the stall comes at once, not up to 10 s later.
          ['scaleInterval: 10s', 'scaleInterval: 1s'],
        ]),
      );
      const daemon = startToilProcess(['leader', '--config', cfgPath], { cwd: dir, env });
      t.teardown(() => void daemon.child.kill('SIGKILL'));
      return daemon;
    };

    await oldLeaderState(env, 'old-state');
    const old = daemonOn('old-state');
    await old.waitFor(/status at http:\/\/[0-9.:]+\/status/, 60_000);
    t.notMatch(old.output(), /JOBSTORE_NOT_OURS|holds objects no job store wrote/, 'not refused');
    t.ok(
      (await keys('old-state--toil')).includes('leader.json'),
      'it took the lease: leader.json is written',
    );
    // Its state's S3 stalls: the daemon says so within seconds (it renews its lease every 20 s
    // and saves its scaler state every tick), and again when S3 answers.
    moto.signal('SIGSTOP');
    try {
      await old.waitFor(
        /S3 at http:\/\/127\.0\.0\.1:\d+ has not answered \w+ on bucket old-state--toil for \d+ s: the leader waits for it/,
        40_000,
      );
    } finally {
      moto.signal('SIGCONT');
    }
    await old.waitFor(/S3 at http:\/\/127\.0\.0\.1:\d+ answers again \(it was silent for \d+ s\)/, 30_000);
    old.child.kill('SIGTERM');
    await old.done;

    await oldLeaderState(env, 'mixed-state');
    await s3.send(new PutObjectCommand({ Bucket: 'mixed-state--toil', Key: 'precious.csv', Body: 'a,b\n' }));
    const before = await keys('mixed-state--toil');
    const foreign = daemonOn('mixed-state');
    const r = await foreign.done;
    t.equal(r.code, 2, 'a bucket holding a key the leader state never writes: exit 2');
    t.match(
      foreign.output(),
      /toil: job store aws:us-west-2:mixed-state: bucket mixed-state--toil exists and holds objects no job store wrote \(e\.g\. 'precious\.csv'; no leader\.json\)/,
    );
    t.same(await keys('mixed-state--toil'), before, 'nothing written to it');
  },
);
