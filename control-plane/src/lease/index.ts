export { createLease, createSoloLease, isLeaseLost, type Lease, type LeaseOptions, type LeaseStatus, type SingletonGate } from './lease.js';
export type { AcquireResult, LeaseStore } from './lease-store.js';
export { createMemoryLeaseStore } from './memory-lease-store.js';
export { LEASE_MIGRATIONS, createPostgresLeaseStore, type PostgresLeaseStoreOptions } from './postgres-lease-store.js';
