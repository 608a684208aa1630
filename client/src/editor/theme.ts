import type { EditorThemeClasses } from 'lexical';

/** Class names for the article's nodes; the look itself is in styles/article.css. */
export const articleTheme: EditorThemeClasses = {
  paragraph: 'a-p',
  quote: 'a-quote',
  heading: { h1: 'a-h1', h2: 'a-h2', h3: 'a-h3', h4: 'a-h4', h5: 'a-h5', h6: 'a-h6' },
  list: {
    ul: 'a-ul',
    ol: 'a-ol',
    listitem: 'a-li',
    nested: { listitem: 'a-li-nested' },
  },
  link: 'a-link',
  code: 'a-code',
  text: {
    bold: 'a-bold',
    italic: 'a-italic',
    underline: 'a-underline',
    strikethrough: 'a-strike',
    underlineStrikethrough: 'a-underline a-strike',
    code: 'a-inline-code',
    subscript: 'a-sub',
    superscript: 'a-sup',
    highlight: 'a-mark',
  },
};
