// Certificates for Auditor mode: each server's EC P-256 key has an X.509 certificate, registered
// with the other server (holder ids `ledger` and `auditor`). Scalar's production checklist asks
// for ECDSA with SHA-256 on P-256. Operators bring CA-issued ones; --generate-keys makes
// self-signed ones for a rehearsal or a first deployment.
import { createPrivateKey, createPublicKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import 'reflect-metadata' // @peculiar/x509 needs it loaded first
import * as x509 from '@peculiar/x509'
import { writePrivateFile } from '../engine/files.ts'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }

/** Why the file is not a certificate of the key, or undefined when it is. Never echoes key material. */
export function certificateProblem(certFile: string, keyFile: string): string | undefined {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(fs.readFileSync(certFile))
  } catch {
    return `${certFile} is not a PEM X.509 certificate`
  }
  if (cert.publicKey.asymmetricKeyType !== 'ec' || cert.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    return `${certFile} is not for an EC P-256 key`
  if (new Date(cert.validTo) < new Date()) return `${certFile} expired on ${cert.validTo}`
  try {
    if (fs.existsSync(keyFile) && !cert.checkPrivateKey(createPrivateKey(fs.readFileSync(keyFile, 'utf8'))))
      return `${certFile} is not the certificate of ${keyFile}`
  } catch {
    return undefined // the key file's own problem is reported on its key
  }
  return undefined
}

/** Writes a self-signed certificate (PEM, mode 600) for the EC P-256 key in keyFile. */
export async function generateCertificate(keyFile: string, certFile: string, holder: string): Promise<void> {
  const pem = fs.readFileSync(keyFile, 'utf8')
  const subtle = webcrypto.subtle
  const privateKey = await subtle.importKey('pkcs8', createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }), ALG, true, ['sign'])
  const publicKey = await subtle.importKey('spki', createPublicKey(pem).export({ type: 'spki', format: 'der' }), ALG, true, ['verify'])
  const notBefore = new Date()
  const notAfter = new Date(notBefore.getTime() + 3 * 365 * 24 * 3600 * 1000)
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${holder}, O=scalardl-eks-runbook`,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys: { privateKey: privateKey as unknown as CryptoKey, publicKey: publicKey as unknown as CryptoKey },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  })
  writePrivateFile(certFile, cert.toString('pem') + '\n')
}
