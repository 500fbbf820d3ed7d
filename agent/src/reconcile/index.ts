export { DEPLOYMENT_EVENT_KIND, createDeploymentJournal, type DeploymentEventInput, type DeploymentJournal } from './deployment-events.js';
export type { ModelStatus } from './model-status.js';
export { failureKey, plan, type CurrentState, type ModelCurrent, type Step, type StepType } from './plan.js';
export { createInferenceWindowHub, judgeProbation, p95FromBuckets, type InferenceWindowHub } from './probation.js';
export { createReconciler, type CreateReconcilerOptions, type Reconciler } from './reconciler.js';
export { TERMINAL_CODES } from './terminal-codes.js';
export { createStateReporter, type StateReporter } from './state-reporter.js';
