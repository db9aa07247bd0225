// The reference tables the local lake keeps in its bucket: written when missing or different from what this version
// ships, left alone when equal, read either through the S3 API or (as the local lake does) from the store's files.
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { localS3Client } from '../../cli/local-s3.ts';
import { LOCAL_LAKE_BUCKET } from '../../lambdas/lake/layout.ts';
import { ensureReferenceObjects, REFERENCE_OBJECTS, type StoredBody } from '../../lambdas/regions/reference-objects.ts';
import { startTestS3, type TestS3 } from '../helpers/local-s3.ts';

/** A client that counts the GETs it sends. */
function countingClient(endpoint: string): { client: S3Client; gets: () => number } {
  const client = localS3Client(endpoint);
  let gets = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') gets++;
      return next(args);
    },
    { step: 'initialize', name: 'countGets' },
  );
  return { client, gets: () => gets };
}

async function body(s3: TestS3, key: string): Promise<string> {
  const got = await s3.client.send(new GetObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: key }));
  return (await got.Body?.transformToString('utf8')) ?? '';
}

const readers: Array<[string, (s3: TestS3) => StoredBody | undefined, (gets: number) => void]> = [
  ['through the S3 API', () => undefined, (gets) => expect(gets).toBe(3 * REFERENCE_OBJECTS.length)],
  ['from the store files', (s3) => (key) => s3.storedText(LOCAL_LAKE_BUCKET, key), (gets) => expect(gets).toBe(0)],
];

describe('the reference objects', () => {
  it.each(readers)('are written when missing or changed and left alone when equal, read %s', async (_how, reader, expectGets) => {
    // Prepare
    const s3 = await startTestS3();
    const { client, gets } = countingClient(s3.endpoint);
    const ensure = () => ensureReferenceObjects(client, LOCAL_LAKE_BUCKET, reader(s3));
    const [regions] = REFERENCE_OBJECTS;
    if (!regions) throw new Error('no reference objects');

    try {
      // Act
      const missing = await ensure();
      const equal = await ensure();
      await s3.client.send(new PutObjectCommand({ Bucket: LOCAL_LAKE_BUCKET, Key: regions.key, Body: 'stale\n' }));
      const changed = await ensure();

      // Assess
      expect(missing.sort()).toEqual(REFERENCE_OBJECTS.map((o) => o.key).sort());
      expect(equal).toEqual([]);
      expect(changed).toEqual([regions.key]);
      for (const o of REFERENCE_OBJECTS) expect(await body(s3, o.key)).toBe(o.body);
      expectGets(gets());
    } finally {
      client.destroy();
    }
  });
});
