/**
 * The public entry point of the `toil-ts` package: the API a workflow module is written against.
 * Keep it free of the runtime (job store, AWS SDK): it is bundled into every workflow module.
 */
export {
  defineJob,
  defineService,
  defineWorkflow,
  isJobDefinition,
  isPromised,
  isServiceDefinition,
  isWorkflowDefinition,
  type FileID,
  type FileStore,
  type Input,
  type Job,
  type JobDefinition,
  type JobFunction,
  type JobHandle,
  type JobLogger,
  type Promised,
  type Requirements,
  type Service,
  type ServiceDefinition,
  type ServiceHandle,
  type WorkflowContext,
  type WorkflowDefinition,
} from './api.js';
// Toil's human2bytes, for a workflow's own size flags (Toil's sort takes --sortMemory=0.6G).
export { tryParseBytes } from '../common/units.js';
