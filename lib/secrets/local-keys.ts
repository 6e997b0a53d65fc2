// The signing keys and certificates a configuration needs, made where the operator is: `npm run
// secrets -- store` makes the missing ones on the laptop (keys mode 600, EC P-256; certificates
// self-signed, for Auditor mode) before it stores the keys in Parameter Store, so no key waits
// for a cluster to exist. Which secrets a configuration uses is decided here too: a secret it does
// not use is neither required, nor stored, nor sent.
import fs from 'node:fs'
import type { Config } from '../config/load.ts'
import { certificateProblem, generateCertificate } from '../scalardl/certs.ts'
import { generateSigningKey, keyFileProblem } from '../scalardl/keys.ts'
import { STORED_SECRETS } from './parameters.ts'

/** The Ledger signs (and so needs its key) with Asset Proofs, and always in Auditor mode. */
const ledgerSigns = (c: Config) => c.scalardl.proofEnabled || c.auditor.enabled

/** The keys of STORED_SECRETS this configuration uses. */
export function usedSecrets(c: Config): Set<string> {
  const used = new Set(Object.keys(STORED_SECRETS))
  if (!ledgerSigns(c)) used.delete('LEDGER_PRIVATE_KEY_FILE')
  if (!c.auditor.enabled) {
    used.delete('AUDITOR_PRIVATE_KEY_FILE')
    used.delete('SCALARDL_AUDITOR_LICENSE_KEY')
  }
  return used
}

interface LocalKeyFile {
  key: string
  file: string
  kind: 'key' | 'certificate'
  /** For a certificate: the key file it certifies, and its holder id. */
  of?: string
  holder?: string
}

/** The key and certificate files this configuration needs, keys before the certificates of them. */
function neededKeyFiles(c: Config): LocalKeyFile[] {
  const files: LocalKeyFile[] = []
  if (ledgerSigns(c)) files.push({ key: 'LEDGER_PRIVATE_KEY_FILE', file: c.scalardl.privateKeyFile, kind: 'key' })
  if (c.auditor.enabled)
    files.push(
      { key: 'AUDITOR_PRIVATE_KEY_FILE', file: c.auditor.privateKeyFile, kind: 'key' },
      {
        key: 'AUDITOR_CERTIFICATE_FILE',
        file: c.auditor.certificateFile,
        kind: 'certificate',
        of: c.auditor.privateKeyFile,
        holder: 'auditor',
      },
      {
        key: 'LEDGER_CERTIFICATE_FILE',
        file: c.auditor.ledgerCertificateFile,
        kind: 'certificate',
        of: c.scalardl.privateKeyFile,
        holder: 'ledger',
      },
    )
  return files
}

interface KeyFileState extends LocalKeyFile {
  state: 'present' | 'missing' | 'invalid'
  problem?: string
}

export function keyFileStates(c: Config): KeyFileState[] {
  return neededKeyFiles(c).map((f) => {
    if (!fs.existsSync(f.file)) return { ...f, state: 'missing' }
    const problem = f.kind === 'key' ? keyFileProblem(f.file) : certificateProblem(f.file, f.of!)
    return problem ? { ...f, state: 'invalid', problem } : { ...f, state: 'present' }
  })
}

/**
 * Makes the missing ones of these files (as keyFileStates read them, keys first); returns what it
 * made. An invalid file is never replaced.
 */
export async function makeMissingKeyFiles(files: KeyFileState[]): Promise<LocalKeyFile[]> {
  const made: LocalKeyFile[] = []
  for (const f of files) {
    if (f.state !== 'missing') continue
    if (f.kind === 'key') generateSigningKey(f.file)
    else await generateCertificate(f.of!, f.file, f.holder!)
    made.push(f)
  }
  return made
}
