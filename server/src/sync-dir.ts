/** Makes a directory's entries durable (a file created in it survives a power cut): fsync of the directory itself. */
import { closeSync, fsyncSync, openSync } from 'node:fs';

export function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
