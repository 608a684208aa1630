/**
 * HTML import safety. The HTML is parsed in a happy-dom window with scripts, file loading and navigation off, then
 * cut down to what an article is made of before Lexical sees it: elements that carry code, styles or embedded
 * content are removed with everything inside them, and every attribute goes except a link's href/title, a list's
 * start/value, a code block's language and the few style properties that mean bold/italic/underline/strikethrough.
 * Lexical then keeps only the node types it knows (ARTICLE_NODES), and unsafe link URLs are unwrapped.
 */
import { Window, type Document, type Element, type Node } from 'happy-dom';

const REMOVE_WITH_CONTENT = new Set([
  'SCRIPT',
  'STYLE',
  'TEMPLATE',
  'NOSCRIPT',
  'IFRAME',
  'FRAME',
  'FRAMESET',
  'OBJECT',
  'EMBED',
  'APPLET',
  'LINK',
  'META',
  'BASE',
  'TITLE',
  'HEAD',
  'FORM',
  'INPUT',
  'BUTTON',
  'SELECT',
  'OPTION',
  'TEXTAREA',
  'SVG',
  'MATH',
  'CANVAS',
  'AUDIO',
  'VIDEO',
  'SOURCE',
  'TRACK',
  'IMG',
  'PICTURE',
  'MAP',
  'AREA',
  'DIALOG',
  'SLOT',
]);

const KEEP_ATTRIBUTES: Record<string, ReadonlySet<string>> = {
  A: new Set(['href', 'title']),
  OL: new Set(['start']),
  LI: new Set(['value']),
  PRE: new Set(['data-language', 'data-highlight-language']),
  CODE: new Set(['data-language', 'data-highlight-language']),
};

/** Style properties Lexical reads to set text formats; everything else in a style attribute is dropped. */
const KEEP_STYLE = /^(font-weight|font-style|text-decoration|text-decoration-line|vertical-align)$/i;

/** http(s), mailto or a relative URL (not empty: an anchor without a target is no link). */
export function isSafeUrl(url: string): boolean {
  const u = url.trim();
  if (u === '') return false;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(u);
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (scheme === null) return !/[\u0000-\u001f]/.test(u);
  return ['http', 'https', 'mailto'].includes(scheme[1]!.toLowerCase());
}

function cleanStyle(style: string): string {
  return style
    .split(';')
    .map((decl) => decl.trim())
    .filter((decl) => {
      const [prop, ...rest] = decl.split(':');
      const value = rest.join(':');
      return prop !== undefined && KEEP_STYLE.test(prop.trim()) && !/[()\\]/.test(value);
    })
    .join('; ');
}

/** Removes, in place, everything of `root`'s subtree that is not article content. */
export function sanitizeElement(root: Element): void {
  for (const el of Array.from(root.querySelectorAll('*'))) {
    if (REMOVE_WITH_CONTENT.has(el.tagName.toUpperCase())) {
      el.remove();
      continue;
    }
    if (el.tagName.toUpperCase() === 'A' && !isSafeUrl(el.getAttribute('href') ?? '')) {
      // A link to nowhere safe is just its text.
      el.replaceWith(...Array.from(el.childNodes));
      continue;
    }
    const keep = KEEP_ATTRIBUTES[el.tagName.toUpperCase()];
    for (const { name, value: raw } of Array.from(el.attributes)) {
      const value = raw ?? '';
      const lower = name.toLowerCase();
      if (lower === 'style') {
        const style = cleanStyle(value);
        if (style) el.setAttribute('style', style);
        else el.removeAttribute(name);
      } else if (!keep?.has(lower) || (lower === 'href' && !isSafeUrl(value))) {
        el.removeAttribute(name);
      }
    }
  }
  // Comments and processing instructions carry no article text.
  const walker = root.ownerDocument.createTreeWalker(root, 128 /* NodeFilter.SHOW_COMMENT */);
  const comments: Node[] = [];
  for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) comments.push(n);
  for (const c of comments) c.parentNode?.removeChild(c);
}

/**
 * Runs `f` with a locked-down happy-dom window installed as the global DOM (Lexical's HTML import reads globals),
 * then restores the globals and closes the window. `f` must be synchronous.
 */
export function withSafeDOM<T>(f: (window: Window) => T): T {
  const g = globalThis as Record<string, unknown>;
  const names = [
    'window',
    'document',
    'DOMParser',
    'MutationObserver',
    'getComputedStyle',
    'Node',
    'HTMLElement',
    'Element',
  ];
  const saved = names.map((name) => [name, g[name]] as const);
  const window = new Window({
    settings: {
      enableJavaScriptEvaluation: false,
      disableJavaScriptFileLoading: true,
      disableCSSFileLoading: true,
      enableImageFileLoading: false,
      disableIframePageLoading: true,
      handleDisabledFileLoadingAsSuccess: true,
      navigation: {
        disableMainFrameNavigation: true,
        disableChildFrameNavigation: true,
        disableChildPageNavigation: true,
      },
    },
  });
  const w = window as unknown as Record<string, unknown>;
  for (const name of names) g[name] = name === 'window' ? window : w[name];
  try {
    return f(window);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete g[name];
      else g[name] = value;
    }
    void window.happyDOM.close();
  }
}

/** Parses HTML into a sanitized body element (inside `withSafeDOM`). */
export function parseSafeHtml(window: Window, html: string): Document {
  const parser = new window.DOMParser();
  const dom = parser.parseFromString(html, 'text/html');
  sanitizeElement(dom.documentElement);
  return dom;
}
