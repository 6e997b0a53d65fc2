// The simulated EKS API servers serve HTTPS, as EKS does: kubectl (client-go) runs a kubeconfig's
// exec credential plugin only for a TLS server (a plain-HTTP server never sees the token), so the
// token authentication of the simulator needs TLS. One certificate authority per simulator state
// directory (its certificate is what DescribeCluster's certificateAuthority.data holds and what
// eksctl writes as certificate-authority-data); one server certificate for 127.0.0.1/localhost.
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import 'reflect-metadata' // @peculiar/x509 needs it loaded first
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }

interface TlsMaterial {
  /** PEM of the certificate authority: what clients trust. */
  ca: string
  /** PEM of the server's certificate and private key. */
  cert: string
  key: string
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as unknown as webcrypto.CryptoKey))
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string
}

async function generate(): Promise<TlsMaterial> {
  const subtle = webcrypto.subtle
  const caKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair
  const notBefore = new Date(Date.now() - 60_000)
  const notAfter = new Date(Date.now() + 365 * 24 * 3600 * 1000)
  // EKS's cluster CA is named "kubernetes"; its serving certificate names the endpoint's host.
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=kubernetes',
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  })
  const serverKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: 'CN=kube-apiserver',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    ],
  })
  return { ca: ca.toString('pem') + '\n', cert: server.toString('pem') + '\n', key: await keyPem(serverKeys.privateKey) }
}

/** The CA certificate's file in a state directory (what the stand-ins trust). */
export const caFile = (stateDir: string) => path.join(stateDir, 'kube-ca.pem')

/** The state directory's TLS material: made once, kept (the key with mode 600) so clients keep trusting it. */
export async function tlsMaterial(stateDir: string): Promise<TlsMaterial> {
  const file = path.join(stateDir, 'kube-tls.json')
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as TlsMaterial
  const m = await generate()
  fs.mkdirSync(stateDir, { recursive: true })
  fs.writeFileSync(file, JSON.stringify(m), { mode: 0o600 })
  fs.writeFileSync(caFile(stateDir), m.ca)
  return m
}
