// Uploads that are not exports, or that strain S3's limits, through the real handler on the embedded S3.
import { describe, expect, it } from 'vitest';
import { deliverSqs, ingestionRecords, lakeKeys, putRaw, queryLake, seedText, startIngestRig } from '../helpers/events.ts';

describe('upload edges', () => {
  it('a console "Create folder" marker (empty object, key ending in /) is not an upload: no report, no record', async () => {
    // Prepare
    const rig = await startIngestRig();
    const marker = await putRaw(rig.s3.client, 'eksporter 2024/', '');

    // Act
    const response = await deliverSqs(rig, marker);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await lakeKeys(rig.lakeDir, '')).toEqual([]);
  });

  it('an empty object whose key does not end in / is still rejected as EMPTY_FILE', async () => {
    const rig = await startIngestRig();
    const empty = await putRaw(rig.s3.client, 'eksporter 2024/tom.txt', '');

    await deliverSqs(rig, empty);

    expect((await ingestionRecords(rig)).map((i) => [i.status, i.error_code])).toEqual([['rejected', 'EMPTY_FILE']]);
  });

  it("a key of 650 bytes of æøå (over S3's 2 KB metadata limit once percent-encoded) is ingested, not dead-lettered", async () => {
    // Prepare: 4 segments of 99 two-byte characters, plus the file name; the local S3 keeps segments under 209 bytes.
    const rig = await startIngestRig();
    const key = `${Array.from({ length: 4 }, () => 'æøå'.repeat(33)).join('/')}/tiltak.txt`;
    expect(Buffer.byteLength(key)).toBeGreaterThan(650);
    expect(encodeURIComponent(key).length).toBeGreaterThan(1900);
    const ref = await putRaw(rig.s3.client, key, seedText());

    // Act
    const response = await deliverSqs(rig, ref);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const rows = await queryLake(rig, 'SELECT count(*) AS n, any_value(source_key) AS k FROM observations');
    expect(rows).toEqual([{ n: 7430, k: key }]);
    // S3 refuses a PUT whose user metadata exceeds 2 KB (the embedded server does not): measure what was sent.
    const puts = rig.requests.filter((r) => r.command === 'PutObjectCommand');
    expect(puts.length).toBeGreaterThan(0);
    for (const put of puts) {
      const metadata = (put.input.Metadata ?? {}) as Record<string, string>;
      const bytes = Object.entries(metadata).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
      expect(bytes).toBeLessThanOrEqual(2048);
    }
  });
});
