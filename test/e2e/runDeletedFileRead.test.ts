import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runToil, scratchDir } from '../fixtures/workflowCli.js';

// A job writes a file and deletes it; its follow-on reads it anyway (each way the file store reads).
const WORKFLOW = `
import { readFileSync } from 'node:fs';
import { defineJob, defineWorkflow, type FileID } from 'toil-ts';
const SMALL = { cores: 0.1, memory: '32Mi', disk: '1Mi' };
const writer = defineJob<null, FileID>('writer', SMALL, async (job) => {
  const id = await job.fileStore.writeGlobalFileBytes('hello');
  job.fileStore.deleteGlobalFile(id);
  return id;
});
const reader = defineJob<{ id: FileID; how: string }, string>('reader', SMALL, async (job, { id, how }) => {
  if (how === 'bytes') return (await job.fileStore.readGlobalFileBytes(id)).toString();
  if (how === 'copy') return readFileSync(await job.fileStore.readGlobalFile(id), 'utf8');
  let text = '';
  for await (const chunk of await job.fileStore.readGlobalFileStream(id)) text += String(chunk);
  return text;
});
const root = defineJob<string, string>('root', SMALL, (job, how) =>
  job.addFollowOn(reader, { id: job.addChild(writer, null).rv(), how }).rv());
export default defineWorkflow<string>({ start(ctx) { return ctx.root(root, ctx.args[0]!); } });
`;

t.test(
  'a job that reads a file an earlier job deleted fails, naming the file and why, every time',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'wf.ts'), WORKFLOW);
    for (const how of ['bytes', 'copy', 'stream']) {
      const r = await runToil(
        ['run', 'wf.ts', `file:./js-${how}`, how, '--retryCount', '0', '--disableProgress'],
        {
          cwd: dir,
        },
      );
      t.equal(r.code, 1, `${how}: ${r.stderr}`);
      t.match(
        r.stderr,
        /toil: job 'reader' \([-0-9a-f]+\) failed after 1 attempt\(s\): ToilError: no file files\/[-0-9a-f/]+ in job store \S+ \(a job that ran before deleted it with deleteGlobalFile, or it was never written\)/,
        how,
      );
    }
  },
);
