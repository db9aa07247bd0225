// Child process of crash-safety.test.ts: serves a lake and overwrites a few keys in both buckets as fast as it can,
// until the test kills it. Every body is self-describing (see bodyOf), so a reader can tell a whole one from a torn one.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3 } from '../../cli/local-s3.ts';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../../lambdas/lake/layout.ts';

export const LOOP_KEYS = ['a.txt', 'dir/b.txt', 'c d.txt'];
export const LOOP_BUCKETS = [LOCAL_RAW_BUCKET, LOCAL_LAKE_BUCKET];

/** Generation `n` of `key`: one line repeated, so its size varies and any cut or mix shows. */
export function bodyOf(key: string, n: number): string {
  return `${key} generation ${n}\n`.repeat(1 + ((n * 7919) % 4000));
}

/** True if `text` is exactly some generation of `key`. */
export function isWholeBody(key: string, text: string): boolean {
  const n = /^.* generation (\d+)\n/.exec(text)?.[1];
  return n !== undefined && text === bodyOf(key, Number(n));
}

if (process.argv[1]?.endsWith('put-loop.ts')) {
  const [lakeDir = '', first = '0'] = process.argv.slice(2);
  // A callback that takes a while, so kills also land between storing an upload and recording it as processed.
  const s3 = await startLocalS3({
    lakeDir,
    port: 0,
    silent: true,
    onObjectCreated: () => new Promise((resolve) => setTimeout(resolve, 2)),
  });
  const round = (n: number) =>
    Promise.all(
      LOOP_BUCKETS.flatMap((bucket) =>
        LOOP_KEYS.map((key) => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodyOf(key, n) }))),
      ),
    );
  // Every key exists before the first kill can land.
  await round(Number(first));
  process.stdout.write('ready\n');
  for (let n = Number(first) + 1; ; n++) await round(n);
}
