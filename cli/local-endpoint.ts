/** What a client needs to reach the embedded S3 server; kept apart so that `--help` loads neither s3rver nor the SDK. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';
export const DEFAULT_LOCAL_S3_PORT = 4568;
