import type { Logger } from '../common/log.js';
import type { JobSpec } from '../jobstore/jobRecords.js';
import type { JobStore } from '../jobstore/jobStore.js';
import type { FileID, JobDefinition, JobHandle, JobLogger, WorkflowContext } from './api.js';
import { exportLocalFile, importLocalFile } from './fileTransfer.js';
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
  private readonly collector: JobCollector;
  private rootHandle: JobHandle<unknown> | undefined;

  /** `topLevelJobs`: the jobs the module defined as it loaded; a root of another job is refused. */
  constructor(
    store: JobStore,
    args: readonly string[],
    restart: boolean,
    logger: Logger,
    topLevelJobs?: ReadonlyMap<string, JobDefinition<unknown, unknown>>,
  ) {
    this.collector = new JobCollector(() => topLevelJobs, 'start');
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

  importFile(source: string): Promise<FileID> {
    return importLocalFile(this.store, source);
  }

  exportFile(fileId: FileID, destination: string): Promise<void> {
    return exportLocalFile(this.store, fileId, destination);
  }

  root: WorkflowContext['root'] = (def, input, requirements) => {
    if (this.rootHandle) throw new Error('a workflow has one root job: root() was called twice');
    const h = this.collector.declare(def, input, requirements);
    this.rootHandle = h;
    return h;
  };

  /**
   * The root job's id and every job declared so far (the root and its pre-declared successors),
   * once `start` has returned: what it adds after this is refused (JobCollector.seal).
   */
  declared(): { rootJobId: string | undefined; jobs: JobSpec[] } {
    this.collector.seal();
    this.collector.checkComplete();
    // Toil's toil.start(A.encapsulate()): the encapsulating job is the root.
    const root = this.rootHandle && this.collector.outermost(this.rootHandle.jobId);
    return { rootJobId: root, jobs: this.collector.specs() };
  }
}
