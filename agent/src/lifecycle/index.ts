export { createLifecycle, withDeadline, type Lifecycle, type LifecycleState } from './lifecycle.js';
