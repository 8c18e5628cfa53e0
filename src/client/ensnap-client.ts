// Placeholder for the block-data client (the block engine's branch brings the real one). Only the
// shape the snapshot benchmark codes against: both methods fail until then.
export interface EnsnapClientOptions {
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
}

export class EnsnapClient {
  constructor(readonly options: EnsnapClientOptions) {}

  /** Writes `data` into the disk at byte `offset`. */
  async writeDisk(_diskId: string, _offset: number, _data: Buffer): Promise<void> {
    throw new Error('not implemented');
  }

  /** Reads `length` bytes of the disk at byte `offset`. */
  async readDisk(_diskId: string, _offset: number, _length: number): Promise<Buffer> {
    throw new Error('not implemented');
  }
}
