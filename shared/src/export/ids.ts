/**
 * Name-based UUIDs for imported annotations: the same name always gives the same id, so importing one collection
 * twice finds its threads already there. RFC 9562 version 8 built from SHA-256 (the RFC's own example of a
 * name-based v8), in a namespace of our own so these never equal a v5 id of the same name.
 */
import { digest } from 'lib0/hash/sha256';
import { encodeUtf8 } from 'lib0/string';
import { isUuid } from '../ids.js';

const NAMESPACE = 'marginalia:import:';

export function nameUuid(name: string): string {
  const b = digest(encodeUtf8(NAMESPACE + name)).slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The UUID an annotation id names, when it names one: a Marginalia thread or comment URL (…/threads/<uuid> or
 * …/comments/<uuid>), `urn:uuid:<uuid>`, or a bare UUID. Otherwise null.
 */
export function uuidIn(id: string): string | null {
  const m =
    /(?:^|\/threads\/|\/comments\/|^urn:uuid:)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(
      id.trim(),
    );
  return m && isUuid(m[1]) ? m[1]!.toLowerCase() : null;
}

/** The id an imported thread or comment gets from its annotation id: the UUID it names, else one derived from it. */
export function importedId(id: string): string {
  return uuidIn(id) ?? nameUuid(id);
}
