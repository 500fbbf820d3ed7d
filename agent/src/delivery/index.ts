export { assertDiskSpace, freeDiskBytes } from './disk-check.js';
export type { ArtifactFetcher, FetchRequest } from './fetcher.js';
export { createHttpFetcher } from './http-fetcher.js';
export { createMqttChunkFetcher, type MqttChunkFetcher } from './mqtt-chunk-fetcher.js';
export { manifestOf, sha256File, verifyArtifactFile, verifySignature } from './verify.js';
