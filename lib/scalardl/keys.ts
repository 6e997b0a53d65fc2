// The Ledger's private key for Asset Proofs: an EC P-256 key in PEM (Scalar's production
// checklist: ECDSA, SHA256, curve P-256). Checked before any call; generated on request.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import fs from 'node:fs'
import { writePrivateFile } from '../engine/files.ts'

/** Why the file is not a usable key, or undefined when it is. Never echoes key material. */
export function keyFileProblem(file: string): string | undefined {
  let pem: string
  try {
    pem = fs.readFileSync(file, 'utf8')
  } catch {
    return `${file} cannot be read`
  }
  try {
    const key = createPrivateKey(pem)
    if (key.asymmetricKeyType !== 'ec') return `${file} holds a ${key.asymmetricKeyType} key; Scalar DL needs an EC P-256 key`
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (curve !== 'prime256v1') return `${file} holds an EC key on ${curve}; Scalar DL needs P-256 (prime256v1)`
  } catch {
    return `${file} is not a PEM private key`
  }
  const mode = fs.statSync(file).mode & 0o077
  if (mode) return `${file} is readable by others (mode ${(fs.statSync(file).mode & 0o777).toString(8)}): chmod 600 ${file}`
  return undefined
}

/** Writes a new EC P-256 private key (SEC1 PEM) with mode 600: the Ledger's or the Auditor's signing key. */
export function generateSigningKey(file: string): void {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  writePrivateFile(file, privateKey.export({ format: 'pem', type: 'sec1' }).toString())
}
