import { stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A local lake is a directory with the embedded S3 server's `s3/` storage in it. */
export function isLakeDir(dir: string): Promise<boolean> {
  return stat(join(dir, 's3')).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
