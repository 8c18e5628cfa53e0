// The placeholder block engine: it keeps no disk contents, so a snapshot job moves no data and
// completes at once. It exists so that the whole API, the job system and crash recovery work
// through the real BlockEngine interface until the block engine (its own issue) replaces it.
// The README's coverage table says so (BlockEngine.storesData is false).
import type { BlockEngine } from '../../domain/ports.js';

export class MetadataOnlyEngine implements BlockEngine {
  readonly name = 'metadata-only';
  readonly storesData = false;

  async createVolume(): Promise<void> {}
  async deleteVolume(): Promise<void> {}
  async beginSnapshot(): Promise<void> {}
  async copySnapshot(
    _snapshotId: string,
    _diskId: string,
    onProgress: (fraction: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted();
    await onProgress(1);
  }
  async deleteSnapshot(): Promise<void> {}
}
