/** Reading S3 failures by status, because the SDK's error names differ between S3 and S3-compatible servers. */
interface HttpError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

function status(e: unknown): number | undefined {
  return (e as HttpError | null)?.$metadata?.httpStatusCode;
}

export function isNotFound(e: unknown): boolean {
  const name = (e as HttpError | null)?.name;
  return status(e) === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/** The object changed between our read and our conditional write: read again and decide again. */
export function isWriteConflict(e: unknown): boolean {
  const name = (e as HttpError | null)?.name;
  return status(e) === 412 || status(e) === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}
