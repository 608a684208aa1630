import type { EditorThemeClasses } from 'lexical';
import { ARTICLE_CLASSES } from '@marginalia/shared';

/**
 * Class names for the article's nodes, shared with the server's static preview of the article (so that the one
 * replaces the other without a jump); the look itself is in styles/article.css.
 */
export const articleTheme: EditorThemeClasses = {
  ...ARTICLE_CLASSES,
  heading: { ...ARTICLE_CLASSES.heading },
  list: { ...ARTICLE_CLASSES.list, nested: { ...ARTICLE_CLASSES.list.nested } },
  text: { ...ARTICLE_CLASSES.text },
};
