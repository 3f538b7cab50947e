/** `tollgate scan`'s windowed read of bytes held in memory, in windows of `chunk` bytes: what a file or a stream of that size gives it. */
import { findKeysChunked } from '../../cli/scan';

export const readInWindows = (bytes: Buffer, chunk: number) =>
  findKeysChunked((buffer, position) => bytes.copy(buffer, 0, position, Math.min(bytes.length, position + buffer.length)), chunk);
