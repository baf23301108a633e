// Kafka TLS from configuration reaches the real socket: a TLS server with certificates of a test CA
// (made with openssl) sees the client's mutual-TLS certificate when KAFKA_SSL_CA_FILE,
// KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE name the right files, and the client refuses a server
// its CA file does not vouch for. No broker: the TLS handshake is what is under test.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type Server, type TLSSocket } from 'node:tls'
import { Admin } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../config/config.js'
import { baseOptions } from '../../../kafka/clients.js'
import { fullMessage } from '../../support/errors.js'

const openssl = existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : undefined
const dir = mkdtempSync(join(tmpdir(), 'agent-party-kafka-tls-'))
const path = (name: string) => join(dir, name)

function run(...args: string[]): void {
  execFileSync(openssl as string, args, { cwd: dir, stdio: 'pipe' })
}

function ca(name: string): void {
  run(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${name}`],
  )
}

function signed(name: string, byCa: string, san: string): void {
  writeFileSync(path(`${name}.ext`), `subjectAltName=${san}\n`)
  run(
    ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
  )
  run(
    ...['x509', '-req', '-in', `${name}.csr`, '-CA', `${byCa}.pem`, '-CAkey', `${byCa}.key`],
    ...['-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`],
  )
}

let server: Server
let port = 0
const handshakes: { clientCn: unknown; authorized: boolean }[] = []

beforeAll(async () => {
  if (!openssl) return
  ca('test-ca')
  ca('other-ca')
  signed('broker', 'test-ca', 'IP:127.0.0.1')
  signed('agent-party-client', 'test-ca', 'DNS:agent-party-client')
  server = createServer({
    key: readFileSync(path('broker.key')),
    cert: readFileSync(path('broker.pem')),
    ca: readFileSync(path('test-ca.pem')),
    requestCert: true,
    rejectUnauthorized: false,
  })
  server.on('secureConnection', (socket: TLSSocket) => {
    handshakes.push({ clientCn: socket.getPeerCertificate().subject?.CN, authorized: socket.authorized })
    socket.destroy()
  })
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

async function metadataOver(env: Record<string, string>): Promise<unknown> {
  const config = loadConfig({
    KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${port}`,
    KAFKA_SECURITY_PROTOCOL: 'SSL',
    ...env,
  })
  const admin = new Admin({
    ...baseOptions(config.kafka, 'tls-test'),
    retries: 0,
    timeout: 2000,
    connectTimeout: 2000,
    requestTimeout: 2000,
  })
  try {
    await admin.metadata({ topics: [] })
    return undefined
  } catch (error) {
    return error
  } finally {
    await admin.close().catch(() => {})
  }
}

describe.skipIf(!openssl)('Kafka TLS from files', () => {
  it('checks the broker against KAFKA_SSL_CA_FILE and presents the client certificate', async () => {
    handshakes.length = 0
    await metadataOver({
      KAFKA_SSL_CA_FILE: path('test-ca.pem'),
      KAFKA_SSL_CERT_FILE: path('agent-party-client.pem'),
      KAFKA_SSL_KEY_FILE: path('agent-party-client.key'),
    })
    expect(handshakes[0]).toEqual({ clientCn: 'agent-party-client', authorized: true })
  })

  it('refuses a broker whose certificate the CA file does not vouch for', async () => {
    handshakes.length = 0
    const error = await metadataOver({ KAFKA_SSL_CA_FILE: path('other-ca.pem') })
    expect(fullMessage(error)).toMatch(/certificate/i)
    expect(handshakes).toEqual([])
  })

  it('lets KAFKA_SSL_REJECT_UNAUTHORIZED=false skip that check (tests only)', async () => {
    handshakes.length = 0
    await metadataOver({ KAFKA_SSL_CA_FILE: path('other-ca.pem'), KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' })
    expect(handshakes).toHaveLength(1)
  })
})
