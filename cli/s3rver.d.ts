// s3rver 3.7.1 ships no types. Only the surface cli/local-s3.ts touches is declared, including the internals it wraps
// (the Koa middleware array and the filesystem store) to keep keys inside the storage directory and writes atomic.
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  namespace S3rver {
    interface Options {
      address?: string;
      port?: number;
      directory?: string;
      silent?: boolean;
      vhostBuckets?: boolean;
      resetOnClose?: boolean;
      allowMismatchedSignatures?: boolean;
      configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
    }

    /** The subset of the Koa context the local middleware uses. */
    interface Context {
      method: string;
      path: string;
      ip: string;
      query: Record<string, string | string[] | undefined>;
      headers: Record<string, string | string[] | undefined>;
      status: number;
      length: number;
      body: unknown;
      set(field: string, value: string): void;
    }
    type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void>;

    /** Stored metadata (content-type, x-amz-meta-*) plus the intrinsic fields s3rver derives from the files. */
    type Metadata = Record<string, string | number> & { etag: string; 'last-modified': string; 'content-length': number };

    interface StoredObject {
      key: string;
      readonly size: number;
      readonly lastModifiedDate: Date;
      metadata: { etag: string; 'last-modified': string; 'content-length': number };
    }

    interface FilesystemStore {
      rootDirectory: string;
      getBucketPath(bucket: string): string;
      getResourcePath(bucket: string, key: string | undefined, resource: string): string;
      getBucket(bucket: string): Promise<{ name: string } | null>;
      putObject(object: {
        bucket: string;
        key: string;
        metadata: Record<string, string>;
        content: Buffer | NodeJS.ReadableStream;
      }): Promise<{ size: number; md5: string }>;
      putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
      copyObject(
        srcBucket: string,
        srcKey: string,
        destBucket: string,
        destKey: string,
        replacementMetadata: Record<string, string> | null,
      ): Promise<Metadata>;
      deleteObject(bucket: string, key: string): Promise<void>;
      initiateUpload(bucket: string, key: string, uploadId: string, metadata: Record<string, string>): Promise<void>;
      putPart(
        bucket: string,
        uploadId: string,
        partNumber: number | string,
        content: NodeJS.ReadableStream,
      ): Promise<{ size: number; md5: string }>;
      putSubresource(bucket: string, key: string | undefined, resource: { type: string; toXML(space?: number): string }): Promise<void>;
      /** A bucket's (key undefined) or object's configuration of `resourceType` ('cors', 'website', 'tagging'), or null. */
      getSubresource(bucket: string, key: string | undefined, resourceType: string): Promise<unknown>;
      deleteSubresource(bucket: string, key: string | undefined, resourceType: string): Promise<void>;
      putBucket(bucket: string): Promise<unknown>;
      deleteBucket(bucket: string): Promise<void>;
      getMetadata(bucket: string, key: string): Promise<Metadata>;
      listObjects(
        bucket: string,
        options: { prefix?: string; delimiter?: string; startAfter?: string; maxKeys?: number },
      ): Promise<{ objects: StoredObject[]; commonPrefixes: string[]; isTruncated: boolean }>;
    }

    /** What s3rver emits as 'event': an S3-like record with the key NOT URL-encoded and eventVersion '2.0'. */
    interface Event {
      Records: {
        eventName: string;
        eventTime: string;
        requestParameters: { sourceIPAddress: string };
        s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer: string } };
      }[];
    }
  }

  class S3rver extends EventEmitter {
    constructor(options?: S3rver.Options);
    readonly store: S3rver.FilesystemStore;
    /** Koa's middleware list; composed when the server starts listening. */
    middleware: S3rver.Middleware[];
    httpServer?: Server;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: S3rver.Event) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export = S3rver;
}

declare module 's3rver/lib/models/object.js' {
  /** Only the list of headers s3rver keeps as stored metadata (besides x-amz-meta-*). */
  const S3Object: { ALLOWED_METADATA: string[] };
  export = S3Object;
}

declare module 's3rver/lib/models/error.js' {
  /** Thrown from middleware or the store, it becomes an S3 XML error response with the status S3 uses for `code`. */
  class S3Error extends Error {
    constructor(code: string, message: string, detail?: Record<string, string>);
    readonly code: string;
    readonly status: number;
  }
  export = S3Error;
}
