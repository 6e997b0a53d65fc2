// How one configuration key is declared: its kind of value, its default (or that it is required,
// or optional), what .env.example says about it and the fix shown beside a problem with it. The
// schema, the problems' fixes and .env.example all follow from these declarations.
import type * as z from 'zod'

/** A kind of value that reads the raw text of a .env value. */
type Kind = z.ZodType<unknown, string>

interface Words {
  /** What .env.example says above the key (wrapped there; "\n" starts a new line). */
  doc: string
  /** The fix printed beside every problem with the key: it names the key and shows a value. */
  fix: string
  /** Opens a section of .env.example: its heading, and a note under it. */
  section?: string | { title: string; note: string }
}

export interface Declaration<S extends z.ZodType = z.ZodType> extends Words {
  /** The key's schema, its default or optionality included. */
  schema: S
  /** The value .env.example shows ('' for none). */
  example: string
  /** .env.example shows the key commented out (its value follows from other keys unless set). */
  commented: boolean
}

/** A key with a default, the raw text a .env would hold (parsed as a given value is). */
export function key<T extends Kind>(kind: T, o: Words & { default: string; example?: string }): Declaration<z.ZodPrefault<T>>
/** A key that must be set; .env.example shows `example`. */
export function key<T extends Kind>(kind: T, o: Words & { required: true; example: string }): Declaration<T>
/** A key that may be left unset (its absence means something; see its doc). */
export function key<T extends Kind>(kind: T, o: Words & { commented?: true; example?: string }): Declaration<z.ZodOptional<T>>
export function key(
  kind: Kind,
  o: Words & { default?: string; required?: true; commented?: true; example?: string },
): Declaration<z.ZodType> {
  return {
    doc: o.doc,
    fix: o.fix,
    ...(o.section ? { section: o.section } : {}),
    schema: o.required ? kind : o.default !== undefined ? kind.prefault(o.default) : kind.optional(),
    example: o.example ?? o.default ?? '',
    commented: o.commented ?? false,
  }
}
