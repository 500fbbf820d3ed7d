export { fsyncDir, fsyncFile, writeFileAtomic } from './fs-atomic.js';
export { MODEL_FILE, createModelRepository, type ModelRepository } from './model-repository.js';
