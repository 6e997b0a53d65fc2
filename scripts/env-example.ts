// Writes .env.example from the declarations of the keys (lib/config/keys.ts): `npm run env-example`
// after adding or changing a key. test/unit/env-example.test.ts fails while the file is out of date.
import fs from 'node:fs'
import path from 'node:path'
import { envExample } from '../lib/config/env-example.ts'
import { ROOT } from '../lib/engine/root.ts'

const file = path.join(ROOT, '.env.example')
const text = envExample()
const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
if (text === before) console.log('.env.example is up to date')
else {
  fs.writeFileSync(file, text)
  console.log('.env.example written')
}
