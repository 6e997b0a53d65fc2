// Decoding of the protobuf bodies kubectl >= 1.32 sends from its typed clients (create secret,
// configmap, namespace, serviceaccount): magic "k8s\0" + runtime.Unknown{typeMeta, raw}. Only
// decoding, only these kinds; answers are always JSON.

type Field = { no: number; wire: number; value: bigint | Buffer }

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n
  let shift = 0n
  for (;;) {
    const b = buf[pos++]
    if (b === undefined) throw new Error('truncated varint')
    result |= BigInt(b & 0x7f) << shift
    if (!(b & 0x80)) return [result, pos]
    shift += 7n
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = []
  let pos = 0
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos)
    pos = p1
    const no = Number(tag >> 3n)
    const wire = Number(tag & 7n)
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos)
      out.push({ no, wire, value: v })
      pos = p2
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos)
      const end = p2 + Number(len)
      out.push({ no, wire, value: buf.subarray(p2, end) })
      pos = end
    } else if (wire === 1) {
      out.push({ no, wire, value: buf.subarray(pos, pos + 8) })
      pos += 8
    } else if (wire === 5) {
      out.push({ no, wire, value: buf.subarray(pos, pos + 4) })
      pos += 4
    } else throw new Error(`unsupported wire type ${wire}`)
  }
  return out
}

const str = (f: Field) => (f.value as Buffer).toString('utf8')
const bytes = (f: Field) => f.value as Buffer

function mapEntry(f: Field, value: (f: Field) => unknown): [string, unknown] {
  let k = ''
  let v: unknown = ''
  for (const e of fields(bytes(f))) {
    if (e.no === 1) k = str(e)
    if (e.no === 2) v = value(e)
  }
  return [k, v]
}

function setIf(o: Record<string, unknown>, k: string, v: unknown) {
  if (v === '' || v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0)) return
  o[k] = v
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const m: Record<string, unknown> = {}
  const labels: Record<string, string> = {}
  const annotations: Record<string, string> = {}
  const finalizers: string[] = []
  for (const f of fields(buf)) {
    if (f.no === 1) setIf(m, 'name', str(f))
    else if (f.no === 2) setIf(m, 'generateName', str(f))
    else if (f.no === 3) setIf(m, 'namespace', str(f))
    else if (f.no === 11) {
      const [k, v] = mapEntry(f, str)
      labels[k] = v as string
    } else if (f.no === 12) {
      const [k, v] = mapEntry(f, str)
      annotations[k] = v as string
    } else if (f.no === 14) finalizers.push(str(f))
  }
  setIf(m, 'labels', labels)
  setIf(m, 'annotations', annotations)
  if (finalizers.length) m.finalizers = finalizers
  return m
}

type Decoder = (buf: Buffer) => Record<string, unknown>

const DECODERS: Record<string, Decoder> = {
  Secret(buf) {
    const o: Record<string, any> = { metadata: {} }
    const data: Record<string, string> = {}
    const stringData: Record<string, string> = {}
    for (const f of fields(buf)) {
      if (f.no === 1) o.metadata = objectMeta(bytes(f))
      else if (f.no === 2) {
        const [k, v] = mapEntry(f, (e) => bytes(e).toString('base64'))
        data[k] = v as string
      } else if (f.no === 3) setIf(o, 'type', str(f))
      else if (f.no === 4) {
        const [k, v] = mapEntry(f, str)
        stringData[k] = v as string
      } else if (f.no === 5) o.immutable = f.value === 1n
    }
    setIf(o, 'data', data)
    setIf(o, 'stringData', stringData)
    return o
  },
  ConfigMap(buf) {
    const o: Record<string, any> = { metadata: {} }
    const data: Record<string, string> = {}
    const binaryData: Record<string, string> = {}
    for (const f of fields(buf)) {
      if (f.no === 1) o.metadata = objectMeta(bytes(f))
      else if (f.no === 2) {
        const [k, v] = mapEntry(f, str)
        data[k] = v as string
      } else if (f.no === 3) {
        const [k, v] = mapEntry(f, (e) => bytes(e).toString('base64'))
        binaryData[k] = v as string
      } else if (f.no === 4) o.immutable = f.value === 1n
    }
    setIf(o, 'data', data)
    setIf(o, 'binaryData', binaryData)
    return o
  },
  Namespace(buf) {
    const o: Record<string, any> = { metadata: {} }
    for (const f of fields(buf)) if (f.no === 1) o.metadata = objectMeta(bytes(f))
    return o
  },
  ServiceAccount(buf) {
    const o: Record<string, any> = { metadata: {} }
    const pullSecrets: { name: string }[] = []
    for (const f of fields(buf)) {
      if (f.no === 1) o.metadata = objectMeta(bytes(f))
      else if (f.no === 3)
        pullSecrets.push({
          name:
            fields(bytes(f))
              .filter((e) => e.no === 1)
              .map(str)[0] ?? '',
        })
      else if (f.no === 4) o.automountServiceAccountToken = f.value === 1n
    }
    if (pullSecrets.length) o.imagePullSecrets = pullSecrets
    return o
  },
}

const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00])

export class UnsupportedProtobuf extends Error {}

/** Decodes a protobuf request body into the JSON object it stands for. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw new UnsupportedProtobuf('missing the k8s protobuf magic')
  let apiVersion = ''
  let kind = ''
  let raw: Buffer = Buffer.alloc(0)
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1) {
      for (const t of fields(bytes(f))) {
        if (t.no === 1) apiVersion = str(t)
        if (t.no === 2) kind = str(t)
      }
    } else if (f.no === 2) raw = bytes(f)
  }
  const decode = DECODERS[kind]
  if (!decode) throw new UnsupportedProtobuf(`protobuf bodies of kind ${kind || '(none)'} are not supported by the simulator; send JSON`)
  return { apiVersion, kind, ...decode(raw) }
}

// Encoding, for tests only: builds the same wire format kubectl sends.
function varint(n: number | bigint): Buffer {
  let v = BigInt(n)
  const out: number[] = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v) b |= 0x80
    out.push(b)
  } while (v)
  return Buffer.from(out)
}
export function pbString(no: number, s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s)
  return Buffer.concat([varint((no << 3) | 2), varint(b.length), b])
}
export function pbVarint(no: number, v: number): Buffer {
  return Buffer.concat([varint(no << 3), varint(v)])
}
export function pbMap(no: number, entries: Record<string, string | Buffer>): Buffer {
  return Buffer.concat(Object.entries(entries).map(([k, v]) => pbString(no, Buffer.concat([pbString(1, k), pbString(2, v)]))))
}
export function pbUnknown(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([PROTOBUF_MAGIC, pbString(1, Buffer.concat([pbString(1, apiVersion), pbString(2, kind)])), pbString(2, raw)])
}
