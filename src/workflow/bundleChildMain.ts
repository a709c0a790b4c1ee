import { bundleWorkflow } from './bundle.js';
import { serveBundle } from './bundleChild.js';

// The process bundleWorkflowInChild forks: one workflow file bundled, then it ends.
serveBundle(bundleWorkflow);
