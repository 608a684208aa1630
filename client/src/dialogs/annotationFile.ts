/**
 * Reading an annotation file before it is imported: is it JSON, and which of the two formats the server imports
 * (docs/API.md "Exports and imports") does it look like — a Marginalia JSON export (`format: "marginalia-dump"`) or
 * W3C Web Annotations (an AnnotationCollection, AnnotationPage, Annotation, or an array of them). The guess only
 * preselects the format: the user may override it, and the server has the last word.
 */
import type { AnnotationImportFormat } from '../app/api.js';

export const FORMAT_LABELS: Record<AnnotationImportFormat, string> = {
  w3c: 'W3C Web Annotations',
  json: 'Marginalia JSON export',
};

/** Larger files are not even read: no server takes them, and parsing them would freeze the page. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

export type AnnotationFile =
  | {
      ok: true;
      data: unknown;
      /** The format the content looks like; null when it looks like neither. */
      detected: AnnotationImportFormat | null;
      /** What was found in it, for the user ("a W3C AnnotationCollection of 4 annotations"). */
      summary: string;
    }
  | { ok: false; error: string };

const W3C_TYPES = ['AnnotationCollection', 'AnnotationPage', 'Annotation'] as const;

function typesOf(value: unknown): string[] {
  if (!value || typeof value !== 'object') return [];
  const type = (value as { type?: unknown }).type;
  return (Array.isArray(type) ? type : [type]).filter((t): t is string => typeof t === 'string');
}

function w3cType(value: unknown): (typeof W3C_TYPES)[number] | null {
  const types = typesOf(value);
  return W3C_TYPES.find((t) => types.includes(t)) ?? null;
}

function hasAnnotationContext(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  const context = (value as { '@context'?: unknown })['@context'];
  return (Array.isArray(context) ? context : [context]).some(
    (c) => typeof c === 'string' && c.includes('www.w3.org/ns/anno'),
  );
}

/** Annotations in a W3C value: a collection's inline pages (first, and each page's next), a page's items. */
function countAnnotations(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countAnnotations(v), 0);
  const type = w3cType(value);
  if (type === 'Annotation') return 1;
  const v = value as { first?: unknown; items?: unknown; next?: unknown };
  if (type === 'AnnotationPage') {
    const items = Array.isArray(v.items) ? v.items.length : 0;
    return items + (v.next && typeof v.next === 'object' ? countAnnotations(v.next) : 0);
  }
  if (type === 'AnnotationCollection' && v.first && typeof v.first === 'object') return countAnnotations(v.first);
  return 0;
}

const annotations = (n: number) => `${n} ${n === 1 ? 'annotation' : 'annotations'}`;

export function readAnnotationFile(text: string): AnnotationFile {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    return {
      ok: false,
      error: `This file is not JSON (${(e as Error).message}). Choose a W3C Web Annotation file (.jsonld) or a Marginalia JSON export (.json).`,
    };
  }
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const dump = data as { format?: unknown; threads?: unknown };
    if (dump.format === 'marginalia-dump') {
      const threads = Array.isArray(dump.threads) ? dump.threads.length : 0;
      return {
        ok: true,
        data,
        detected: 'json',
        summary: `a Marginalia JSON export with ${threads} ${threads === 1 ? 'thread' : 'threads'}`,
      };
    }
    const type = w3cType(data);
    if (type || hasAnnotationContext(data)) {
      return {
        ok: true,
        data,
        detected: 'w3c',
        summary: `a W3C ${type ?? 'annotation file'} of ${annotations(countAnnotations(data))}`,
      };
    }
  }
  if (Array.isArray(data) && data.some((v) => w3cType(v))) {
    return { ok: true, data, detected: 'w3c', summary: `a list of ${annotations(countAnnotations(data))} (W3C)` };
  }
  return { ok: true, data, detected: null, summary: 'JSON, but neither W3C Web Annotations nor a Marginalia export' };
}

/** "12 KB", "2.4 MB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
