/**
 * Toil's sort example in TypeScript: sorts the lines of a file (byte order, like `LC_ALL=C sort`)
 * with a parallel merge sort. Each `down` job splits its part of the file in two and hands the
 * halves to two child jobs, down to parts of at most --N bytes, which are sorted in memory; a
 * follow-on `up` job merges the two sorted halves once both children's subtrees are done.
 *
 *   npx toil run examples/sort.ts file:./js-sort --numLines 200000 --outputFile sorted.txt
 *
 * Options: --fileToSort (default fileToSort.txt; generated with --numLines random lines of up to
 * --lineLength characters when it does not exist; a file named by --fileToSort alone must exist),
 * --outputFile (default sortedFile.txt), --overwriteOutput (Toil's: true, the default, writes over
 * an existing output file; false refuses to), --N (split threshold in bytes, default 1000000),
 * --mergeOnDemand (the merge jobs, which hold their subtree's work, ask for non-preemptable nodes),
 * --sortMemory and --mergeMemory (Toil's: the memory of the jobs that split and sort, and of the
 * jobs that merge, as sizes like 0.6G or 600Mi; default 600Mi each), --downCheckpoints (Toil's:
 * each split job is a checkpoint, run again with its subtree if a job below it fails for good).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  defineJob,
  defineWorkflow,
  tryParseBytes,
  type FileID,
  type Input,
  type JobDefinition,
  type Requirements,
} from 'toil-ts';

interface Part {
  readonly fileId: FileID;
  readonly N: number;
  /** An intermediate file of the sort (deleted once split); the user's input is kept. */
  readonly temporary?: boolean;
  /** Merges run on non-preemptable (on-demand) nodes. */
  readonly mergeOnDemand?: boolean;
  /** Memory of the split/sort jobs and of the merge jobs (the job's own default when unset). */
  readonly sortMemory?: string;
  readonly mergeMemory?: string;
  /** Each split job is a checkpoint (Toil's --downCheckpoints). */
  readonly downCheckpoints?: boolean;
}

const NEWLINE = 0x0a;

/** Splits a part bigger than N in two (children), merging them back in a follow-on. */
const down: JobDefinition<Part, FileID> = defineJob<Part, FileID>(
  'down',
  { cores: 1, memory: '600Mi', disk: '1Gi', preemptable: true },
  async (job, part): Promise<Input<FileID>> => {
    const data = await job.fileStore.readGlobalFileBytes(part.fileId);
    if (data.length <= part.N) {
      job.log.info(`sorting ${data.length} bytes`);
      if (part.temporary) job.fileStore.deleteGlobalFile(part.fileId);
      return job.fileStore.writeGlobalFileBytes(sortLines(data));
    }
    const mid = splitPoint(data);
    job.log.info(`splitting ${data.length} bytes at ${mid}`);
    const [left, right] = await Promise.all([
      job.fileStore.writeGlobalFileBytes(data.subarray(0, mid)),
      job.fileStore.writeGlobalFileBytes(data.subarray(mid)),
    ]);
    const child: Part = { ...part, temporary: true };
    const a = job.addChild(down, { ...child, fileId: left }, downRequirements(part));
    const b = job.addChild(down, { ...child, fileId: right }, downRequirements(part));
    if (part.temporary) job.fileStore.deleteGlobalFile(part.fileId);
    return job
      .addFollowOn(
        up,
        { a: a.rv(), b: b.rv() },
        {
          ...(part.mergeOnDemand === true && { preemptable: false }),
          ...(part.mergeMemory !== undefined && { memory: part.mergeMemory }),
        },
      )
      .rv();
  },
);

/**
 * A split job's requirements from the options. Toil's sort.py gives its second half --mergeMemory
 * and its merge --sortMemory; the intent its autoscaling test states (sort jobs fit small
 * instances, merge jobs need large ones) is what is done here.
 */
function downRequirements(part: Part): Requirements {
  return {
    ...(part.sortMemory !== undefined && { memory: part.sortMemory }),
    ...(part.downCheckpoints === true && { checkpoint: true }),
  };
}

/** Merges two sorted files into one. */
const up: JobDefinition<{ a: FileID; b: FileID }, FileID> = defineJob<{ a: FileID; b: FileID }, FileID>(
  'up',
  { cores: 1, memory: '600Mi', disk: '1Gi', preemptable: true },
  async (job, { a, b }) => {
    const [left, right] = await Promise.all([
      job.fileStore.readGlobalFileBytes(a),
      job.fileStore.readGlobalFileBytes(b),
    ]);
    const merged = mergeSorted(left, right);
    job.fileStore.deleteGlobalFile(a);
    job.fileStore.deleteGlobalFile(b);
    job.log.info(`merged ${left.length} + ${right.length} bytes`);
    return job.fileStore.writeGlobalFileBytes(merged);
  },
);

/** The root: sorts the imported file (a child), and returns the sorted file's ID. */
const setup = defineJob<Part, FileID>(
  'setup',
  { cores: 1, memory: '600Mi', preemptable: true },
  async (job, part) => {
    return job.addChild(down, part, downRequirements(part)).rv();
  },
);

export default defineWorkflow<FileID>({
  async start(ctx) {
    const opts = options(ctx.args);
    // As Toil's sort.py: a file named to sort must exist, unless --numLines asks for lines to be
    // generated into it (a typo is not sorted as random lines written under its name); and an
    // existing output is written over unless asked not to.
    if (opts.fileToSortGiven && !opts.numLinesGiven && !existsSync(opts.fileToSort))
      throw new Error(
        `--fileToSort ${opts.fileToSort}: no such file (expected the file to sort, or --numLines N to generate it)`,
      );
    if (!opts.overwriteOutput && existsSync(opts.outputFile))
      throw new Error(
        `--overwriteOutput false: the output file ${opts.outputFile} already exists (delete it, or pass --overwriteOutput true)`,
      );
    if (!existsSync(opts.fileToSort)) {
      ctx.log.info(`generating ${opts.numLines} random lines into ${opts.fileToSort}`);
      writeFileSync(opts.fileToSort, randomLines(opts.numLines, opts.lineLength));
    }
    const fileId = await ctx.importFile(opts.fileToSort);
    return ctx.root(setup, {
      fileId,
      N: opts.N,
      mergeOnDemand: opts.mergeOnDemand,
      sortMemory: opts.sortMemory,
      mergeMemory: opts.mergeMemory,
      downCheckpoints: opts.downCheckpoints,
    });
  },
  async finish(ctx, sortedFileId) {
    const opts = options(ctx.args);
    await ctx.exportFile(sortedFileId, opts.outputFile);
    ctx.log.info(`sorted output written to ${opts.outputFile}`);
  },
});

function options(args: readonly string[]): {
  fileToSort: string;
  fileToSortGiven: boolean;
  numLinesGiven: boolean;
  outputFile: string;
  overwriteOutput: boolean;
  numLines: number;
  lineLength: number;
  N: number;
  mergeOnDemand: boolean;
  sortMemory: string | undefined;
  mergeMemory: string | undefined;
  downCheckpoints: boolean;
} {
  const { values } = parseArgs({
    args: [...args],
    options: {
      fileToSort: { type: 'string' },
      outputFile: { type: 'string', default: 'sortedFile.txt' },
      // Toil's spelling takes a value: --overwriteOutput=True, as its quick start writes it.
      overwriteOutput: { type: 'string', default: 'true' },
      numLines: { type: 'string' },
      lineLength: { type: 'string', default: '50' },
      N: { type: 'string', default: '1000000' },
      mergeOnDemand: { type: 'boolean', default: false },
      sortMemory: { type: 'string' },
      mergeMemory: { type: 'string' },
      downCheckpoints: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const int = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} ${v}: expected a whole number > 0`);
    return n;
  };
  const bool = (name: string, v: string): boolean => {
    if (/^(true|yes|1)$/i.test(v)) return true;
    if (/^(false|no|0)$/i.test(v)) return false;
    throw new Error(`--${name} ${v}: expected true or false`);
  };
  const size = (name: string, v: string | undefined): string | undefined => {
    if (v !== undefined && !(Number(tryParseBytes(v)) > 0))
      throw new Error(`--${name} ${v}: expected a size like 0.6G, 600M or 2Gi`);
    return v;
  };
  return {
    fileToSort: values.fileToSort ?? 'fileToSort.txt',
    fileToSortGiven: values.fileToSort !== undefined,
    numLinesGiven: values.numLines !== undefined,
    outputFile: values.outputFile,
    overwriteOutput: bool('overwriteOutput', values.overwriteOutput),
    numLines: int('numLines', values.numLines ?? '1000'),
    lineLength: int('lineLength', values.lineLength),
    N: int('N', values.N),
    mergeOnDemand: values.mergeOnDemand,
    sortMemory: size('sortMemory', values.sortMemory),
    mergeMemory: size('mergeMemory', values.mergeMemory),
    downCheckpoints: values.downCheckpoints,
  };
}

function randomLines(n: number, maxLength: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.,;:!?';
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(Math.random() * maxLength);
    let line = '';
    for (let j = 0; j < len; j++) line += alphabet[Math.floor(Math.random() * alphabet.length)];
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

/** The index just after the newline nearest the middle (so both halves hold whole lines). */
function splitPoint(data: Buffer): number {
  const nl = data.indexOf(NEWLINE, Math.floor(data.length / 2));
  if (nl >= 0 && nl + 1 < data.length) return nl + 1;
  const before = data.lastIndexOf(NEWLINE, Math.floor(data.length / 2) - 1);
  return before >= 0 ? before + 1 : data.length;
}

/** Lines of `data`, each with its newline (one is added to a last line that lacks it, as sort does). */
function lines(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(NEWLINE, start);
    if (nl < 0) {
      out.push(Buffer.concat([data.subarray(start), Buffer.from('\n')]));
      break;
    }
    out.push(data.subarray(start, nl + 1));
    start = nl + 1;
  }
  return out;
}

/** Byte order of the line without its newline (what `LC_ALL=C sort` compares). */
function compareLines(a: Buffer, b: Buffer): number {
  return Buffer.compare(a.subarray(0, a.length - 1), b.subarray(0, b.length - 1));
}

function sortLines(data: Buffer): Buffer {
  return Buffer.concat(lines(data).sort(compareLines));
}

function mergeSorted(a: Buffer, b: Buffer): Buffer {
  const x = lines(a);
  const y = lines(b);
  const out: Buffer[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) out.push(compareLines(x[i]!, y[j]!) <= 0 ? x[i++]! : y[j++]!);
  while (i < x.length) out.push(x[i++]!);
  while (j < y.length) out.push(y[j++]!);
  return Buffer.concat(out);
}
