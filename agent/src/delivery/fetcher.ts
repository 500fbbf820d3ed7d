import type { ArtifactRef } from '@edgefleet/shared';

export interface FetchRequest {
  model: string;
  version: string;
  artifact: ArtifactRef;
  /** Staging file; resumed when a download record for the same artifact exists. */
  path: string;
  signal: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
}

/** Fetches an artifact into a staging file, resumably. The file is NOT verified on return. */
export interface ArtifactFetcher {
  fetch(request: FetchRequest): Promise<void>;
}
