// Builds the S3 client (the `minio` package) from configuration. Path-style addressing, because
// MinIO and s3proxy serve buckets under the path, not as virtual hosts. TLS follows the endpoint's
// scheme (https); S3_CA_FILE's CA, when given, is the only one the endpoint's certificate may chain to.
import { Agent } from 'node:https'
import { Client } from 'minio'
import type { Config } from '../../config/config.js'

export function createS3Client(s3: Config['s3']): Client {
  const url = new URL(s3.endpoint)
  const useSSL = url.protocol === 'https:'
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    pathStyle: true,
    ...(useSSL && s3.ca !== undefined ? { transportAgent: new Agent({ ca: s3.ca, keepAlive: true }) } : {}),
  })
}
