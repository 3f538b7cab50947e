/**
 * The stream poller's checkpoints: the last processed sequence number per stream and shard
 * (and whether a closed shard is drained), persisted so a restart resumes after them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writePrivateFile } from '../state';

export function cursorKey(streamArn: string, shardId: string): string {
  return `${streamArn}|${shardId}`;
}

export interface ShardCheckpoint {
  readonly sequenceNumber?: string;
  readonly finished?: boolean;
}

interface CheckpointFile {
  readonly version: 1;
  readonly shards: Record<string, ShardCheckpoint>;
}

/** Checkpoints by stream and shard, written atomically (temp file + rename) so a crash never leaves half a file. */
export class CheckpointStore {
  private readonly shards: Record<string, ShardCheckpoint>;

  constructor(private readonly path: string | undefined) {
    this.shards = path && existsSync(path) ? readCheckpointFile(path).shards : {};
  }

  get(streamArn: string, shardId: string): ShardCheckpoint | undefined {
    return this.shards[cursorKey(streamArn, shardId)];
  }

  set(streamArn: string, shardId: string, checkpoint: ShardCheckpoint): void {
    this.shards[cursorKey(streamArn, shardId)] = checkpoint;
  }

  /** Forgets the shards of a stream that are no longer listed. */
  retain(streamArn: string, liveShardIds: ReadonlySet<string>): void {
    for (const key of Object.keys(this.shards)) {
      const [arn, shardId] = key.split('|');
      if (arn === streamArn && !liveShardIds.has(shardId!)) delete this.shards[key];
    }
  }

  save(): void {
    if (!this.path) return;
    const file: CheckpointFile = { version: 1, shards: this.shards };
    writePrivateFile(this.path, `${JSON.stringify(file, null, 2)}\n`);
  }
}

function readCheckpointFile(path: string): CheckpointFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`stream checkpoint file ${path} is not valid JSON (${(error as Error).message}); delete it to replay the streams from their oldest record`);
  }
  const shards = (parsed as Partial<CheckpointFile> | null)?.shards;
  if ((parsed as Partial<CheckpointFile> | null)?.version !== 1 || !shards || typeof shards !== 'object') {
    throw new Error(`stream checkpoint file ${path} is not a version 1 checkpoint file; delete it to replay the streams from their oldest record`);
  }
  return { version: 1, shards };
}
