// An upload with no values at all (cut right after its first header row) is rejected, not "accepted" with nothing:
// it must show up in rejected/, the ingestions table and the FilesRejected metric.
import { expect, it } from 'vitest';
import { notificationMessage, putRaw, readLakeJson, s3Record, seedText, sqsEvent, startIngestRig, lakeKeys } from '../helpers/events.ts';

it('rejects an export that holds no values, writing nothing to observations/', async () => {
  // Prepare: the seed up to and including its first header row.
  const rig = await startIngestRig();
  const lines = seedText().split('\n');
  const header = lines.findIndex((l) => l.startsWith('\tJanuar'));
  const ref = await putRaw(rig.s3.client, 'cut-after-header.txt', `${lines.slice(0, header + 1).join('\n')}\n`);
  // Act
  const result = await rig.handler(sqsEvent(notificationMessage(s3Record(ref))));
  // Assess
  expect(result).toEqual({ batchItemFailures: [] });
  const report = await readLakeJson<{ code: string; message: string }>(rig.lakeDir, 'rejected/cut-after-header.txt.json');
  expect(report.code).toBe('NO_TABLE');
  expect(report.message).toContain('the export holds no values');
  expect(await lakeKeys(rig.lakeDir, 'observations/')).toEqual([]);
});
