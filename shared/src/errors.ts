/**
 * Errors the model throws for input it cannot accept. `code` is what an edge maps to a status:
 * 'not-found' -> 404, 'invalid' -> 422, 'conflict' -> 409.
 */
export type ModelErrorCode = 'not-found' | 'invalid' | 'conflict';

export class ModelError extends Error {
  override name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Why a span or a quote cannot anchor a thread:
 * - 'out-of-range': offsets not integers, or outside 0..text.length, or start > end;
 * - 'empty': the span holds no article content (empty, or only the blank line between blocks);
 * - 'whitespace': the span holds only whitespace, which no quote could find again;
 * - 'quote-not-found': the quote does not occur in the article;
 * - 'quote-ambiguous': the quote occurs several times and its prefix/suffix do not single one out.
 */
export type AnchorErrorReason = 'out-of-range' | 'empty' | 'whitespace' | 'quote-not-found' | 'quote-ambiguous';

export class AnchorError extends ModelError {
  override name = 'AnchorError';
  constructor(
    readonly reason: AnchorErrorReason,
    message: string,
  ) {
    super('invalid', message);
  }
}

export function isModelError(e: unknown): e is ModelError {
  return e instanceof ModelError;
}
