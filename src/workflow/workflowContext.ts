import { createReadStream, createWriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { UserInputError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { JobSpec } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import type { FileID, JobHandle, JobLogger, WorkflowContext } from './api.js';
import { JobCollector } from './jobBuilder.js';

/**
 * The leader's side of a workflow (`start` and `finish` run in `toil run`, on the machine the user
 * ran it on): import and export files, declare the root job.
 */
export class LeaderWorkflowContext implements WorkflowContext {
  readonly args: readonly string[];
  readonly restart: boolean;
  readonly log: JobLogger;
  private readonly store: JobStore;
  private readonly collector = new JobCollector();
  private rootHandle: JobHandle<unknown> | undefined;

  constructor(store: JobStore, args: readonly string[], restart: boolean, logger: Logger) {
    this.store = store;
    this.args = args;
    this.restart = restart;
    const l = logger.child({ component: 'workflow' });
    this.log = {
      debug: (m) => l.debug(m),
      info: (m) => l.info(m),
      warn: (m) => l.warn(m),
      error: (m) => l.error(m),
    };
  }

  async importFile(localPath: string): Promise<FileID> {
    try {
      await access(localPath);
    } catch {
      throw new UserInputError(
        'IMPORT_FILE_MISSING',
        `cannot import ${localPath}: no such file (expected a readable file)`,
        {
          path: localPath,
        },
      );
    }
    const id = this.store.newFileId();
    await this.store.writeFile(id, createReadStream(localPath));
    return id;
  }

  async exportFile(fileId: FileID, localPath: string): Promise<void> {
    await pipeline(await this.store.readFileStream(fileId), createWriteStream(localPath));
  }

  root: WorkflowContext['root'] = (def, input, requirements) => {
    if (this.rootHandle) throw new Error('a workflow has one root job: root() was called twice');
    const h = this.collector.declare(def, input, requirements);
    this.rootHandle = h;
    return h;
  };

  /** The root job's id and every job declared so far (the root and its pre-declared successors). */
  declared(): { rootJobId: string | undefined; jobs: JobSpec[] } {
    return { rootJobId: this.rootHandle?.jobId, jobs: this.collector.specs() };
  }
}
