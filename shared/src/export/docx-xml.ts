/**
 * A small WordprocessingML writer: the package parts of a .docx as strings, and the zip. It knows nothing of
 * articles or threads (docx.ts maps those onto it); it writes exactly what that mapping needs, as flat strings,
 * so that a document with tens of thousands of comments costs little more than its own bytes.
 *
 * Threaded comments follow what Word 2016+ writes: comments.xml (the comments; the last paragraph of each carries a
 * w14:paraId), commentsExtended.xml (w15:commentEx: reply -> parent by paraId, w15:done for resolved),
 * commentsIds.xml (w16cid: a durable id per paraId; Word is reported to thread replies only with it) and
 * people.xml (the authors). commentsExtensible.xml (w16cex: each date again, in UTC) is left out: w:date says it,
 * and at 30,000 comments it would be megabytes more to write and deflate. So are the cosmetic comment styles.
 *
 * Everything here is deterministic: no clock, no random ids, entries zipped in a fixed order and dated with the
 * export's own time (in UTC), so one document at one time gives the same bytes anywhere.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';

// ---- XML text ----------------------------------------------------------------------------------------------------

/**
 * Characters XML 1.0 cannot hold (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates: with the u flag a
 * surrogate range matches only an unpaired half) and the ones markup needs escaped.
 */
// eslint-disable-next-line no-control-regex -- that is the point
const ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/gu;
// eslint-disable-next-line no-control-regex -- see ILLEGAL
const NEEDS_WORK = /[&<>"\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/u;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Text or an attribute value as XML: illegal characters dropped, & < > " escaped. */
export function xmlEscape(s: string): string {
  if (!NEEDS_WORK.test(s)) return s;
  return s.replace(ILLEGAL, '').replace(/[&<>"]/g, (c) => ENTITY[c]!);
}

/** An 8-digit upper-case hex id (w14:paraId, w16cid:durableId). */
export function hexId(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

/** xsd:dateTime in UTC with milliseconds (w:date); a time no Date can hold (NaN, out of range) is the epoch. */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '1970-01-01T00:00:00.000Z' : d.toISOString();
}

/** xsd:dateTime in UTC without milliseconds (W3CDTF), for the core properties. */
export function utcSeconds(ms: number): string {
  return isoTime(ms).replace(/\.\d{3}Z$/, 'Z');
}

// ---- Namespaces --------------------------------------------------------------------------------------------------

const NS = {
  w: 'http://schemas.openxmlformats.org/wordprocessingml/2006/main',
  r: 'http://schemas.openxmlformats.org/officeDocument/2006/relationships',
  mc: 'http://schemas.openxmlformats.org/markup-compatibility/2006',
  w14: 'http://schemas.microsoft.com/office/word/2010/wordml',
  w15: 'http://schemas.microsoft.com/office/word/2012/wordml',
  w16cid: 'http://schemas.microsoft.com/office/word/2016/wordml/cid',
  rels: 'http://schemas.openxmlformats.org/package/2006/relationships',
  types: 'http://schemas.openxmlformats.org/package/2006/content-types',
} as const;

const DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
/** The root attributes of every w: part: main, relationships, and the Word 2010/2012 extensions, ignorable. */
const W_ROOT = `xmlns:w="${NS.w}" xmlns:r="${NS.r}" xmlns:mc="${NS.mc}" xmlns:w14="${NS.w14}" xmlns:w15="${NS.w15}" mc:Ignorable="w14 w15"`;

const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/';
const CT = 'application/vnd.openxmlformats-officedocument.wordprocessingml.';

// ---- Runs and paragraphs -----------------------------------------------------------------------------------------

export interface RunStyle {
  bold?: boolean;
  italic?: boolean;
  strike?: boolean;
  underline?: boolean;
  /** A monospace font (inline code). */
  code?: boolean;
  /** A character style id (e.g. "Hyperlink"). */
  style?: string;
}

/** w:rPr for a run style, children in schema order (CT_RPr); '' when there is nothing to say. */
export function runProperties(s: RunStyle): string {
  let p = '';
  if (s.style) p += `<w:rStyle w:val="${xmlEscape(s.style)}"/>`;
  if (s.code)
    p += '<w:rFonts w:ascii="Courier New" w:hAnsi="Courier New" w:eastAsia="Courier New" w:cs="Courier New"/>';
  if (s.bold) p += '<w:b/><w:bCs/>';
  if (s.italic) p += '<w:i/><w:iCs/>';
  if (s.strike) p += '<w:strike/>';
  if (s.underline) p += '<w:u w:val="single"/>';
  return p === '' ? '' : `<w:rPr>${p}</w:rPr>`;
}

const LINE = /\r\n|\r|\n/;

/** A w:t for a text without line breaks or tabs ('' for none); xml:space only where an edge space needs it. */
function wordText(text: string): string {
  const xml = xmlEscape(text);
  if (xml === '') return '';
  const edge = xml.charCodeAt(0) === 32 || xml.charCodeAt(xml.length - 1) === 32;
  return edge ? `<w:t xml:space="preserve">${xml}</w:t>` : `<w:t>${xml}</w:t>`;
}

/**
 * Runs for a text with its w:rPr (from runProperties): one run per line, each line after the first opening with a
 * break; tabs become w:tab, as Word wants them.
 */
export function textRuns(text: string, rPr: string): string {
  const lines = text.split(LINE);
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const body = line.includes('\t') ? line.split('\t').map(wordText).join('<w:tab/>') : wordText(line);
    if (i > 0 || body !== '') out += `<w:r>${rPr}${i > 0 ? '<w:br/>' : ''}${body}</w:r>`;
  }
  return out;
}

export interface ParagraphStyle {
  /** A paragraph style id (Title, Heading1…, ListParagraph, or one of ours). */
  style?: string;
  /** List membership: the w:num and the level. */
  list?: { numId: number; level: number };
}

/** w:pPr for a paragraph, children in schema order (CT_PPr). */
export function paragraphProperties(p: ParagraphStyle): string {
  let s = '';
  if (p.style) s += `<w:pStyle w:val="${p.style}"/>`;
  if (p.list) s += `<w:numPr><w:ilvl w:val="${p.list.level}"/><w:numId w:val="${p.list.numId}"/></w:numPr>`;
  return s === '' ? '' : `<w:pPr>${s}</w:pPr>`;
}

export const commentRangeStart = (id: number): string => `<w:commentRangeStart w:id="${id}"/>`;
export const commentRangeEnd = (id: number): string => `<w:commentRangeEnd w:id="${id}"/>`;
export const commentReference = (id: number): string => `<w:r><w:commentReference w:id="${id}"/></w:r>`;

// ---- Parts -------------------------------------------------------------------------------------------------------

/** A4 portrait, 1-inch margins. */
const SECTION =
  '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="708" w:footer="708" w:gutter="0"/><w:cols w:space="708"/><w:docGrid w:linePitch="360"/></w:sectPr>';

/** word/document.xml around the body's paragraphs (already XML). */
export function documentPart(body: string): string {
  return `${DECL}<w:document ${W_ROOT}><w:body>${body}${SECTION}</w:body></w:document>`;
}

export interface WordComment {
  /** w:id, as used by the comment range and reference in the document. */
  id: number;
  author: string;
  initials: string;
  /** Epoch ms. */
  date: number;
  /** Paragraphs of the comment: text (may hold nothing) and whether it is set in italics. */
  paragraphs: { text: string; italic?: boolean }[];
  /** Index (in the comments list) of the comment this one replies to. */
  parent?: number;
  /** The thread is resolved. */
  done: boolean;
}

/** paraId of the last paragraph of the i-th comment (never 0, always below 0x80000000). */
const paraIdOf = (i: number) => hexId(i + 1);
/** Durable id of the i-th comment (commentsIds.xml): distinct from every paraId, below 0x7FFFFFFF. */
const durableIdOf = (i: number) => hexId(0x10000000 + i + 1);

const ITALIC = runProperties({ italic: true });

export function commentsPart(comments: readonly WordComment[]): string {
  const out: string[] = [`${DECL}<w:comments ${W_ROOT}>`];
  for (let i = 0; i < comments.length; i++) {
    const c = comments[i]!;
    out.push(
      `<w:comment w:id="${c.id}" w:author="${xmlEscape(c.author)}" w:date="${isoTime(c.date)}" w:initials="${xmlEscape(c.initials)}">`,
    );
    const last = c.paragraphs.length - 1;
    c.paragraphs.forEach((p, k) => {
      const open = k === last ? `<w:p w14:paraId="${paraIdOf(i)}" w14:textId="${paraIdOf(i)}">` : '<w:p>';
      out.push(`${open}${textRuns(p.text, p.italic ? ITALIC : '')}</w:p>`);
    });
    out.push('</w:comment>');
  }
  out.push('</w:comments>');
  return out.join('');
}

export function commentsExtendedPart(comments: readonly WordComment[]): string {
  const out: string[] = [`${DECL}<w15:commentsEx xmlns:mc="${NS.mc}" xmlns:w15="${NS.w15}" mc:Ignorable="w15">`];
  for (let i = 0; i < comments.length; i++) {
    const c = comments[i]!;
    const parent = c.parent === undefined ? '' : ` w15:paraIdParent="${paraIdOf(c.parent)}"`;
    out.push(`<w15:commentEx w15:paraId="${paraIdOf(i)}"${parent} w15:done="${c.done ? 1 : 0}"/>`);
  }
  out.push('</w15:commentsEx>');
  return out.join('');
}

export function commentsIdsPart(comments: readonly WordComment[]): string {
  const out: string[] = [
    `${DECL}<w16cid:commentsIds xmlns:mc="${NS.mc}" xmlns:w16cid="${NS.w16cid}" mc:Ignorable="w16cid">`,
  ];
  for (let i = 0; i < comments.length; i++)
    out.push(`<w16cid:commentId w16cid:paraId="${paraIdOf(i)}" w16cid:durableId="${durableIdOf(i)}"/>`);
  out.push('</w16cid:commentsIds>');
  return out.join('');
}

/** people.xml: every author once, in order of first comment, as a local (provider "None") user, as Word writes them. */
export function peoplePart(comments: readonly WordComment[]): string {
  const seen = new Set<string>();
  const out: string[] = [`${DECL}<w15:people xmlns:mc="${NS.mc}" xmlns:w15="${NS.w15}" mc:Ignorable="w15">`];
  for (const c of comments) {
    if (seen.has(c.author)) continue;
    seen.add(c.author);
    const name = xmlEscape(c.author);
    out.push(
      `<w15:person w15:author="${name}"><w15:presenceInfo w15:providerId="None" w15:userId="${name}"/></w15:person>`,
    );
  }
  out.push('</w15:people>');
  return out.join('');
}

const BULLETS = ['●', '○', '■', '●', '○', '■', '●', '○', '■'];
const indent = (level: number) => `<w:pPr><w:ind w:left="${720 * (level + 1)}" w:hanging="360"/></w:pPr>`;
const levels = (lvl: (level: number) => string) =>
  Array.from(
    { length: 9 },
    (_, level) =>
      `<w:lvl w:ilvl="${level}"><w:start w:val="1"/>${lvl(level)}<w:lvlJc w:val="left"/>${indent(level)}</w:lvl>`,
  ).join('');

/** Numbering: w:num 1 for every bullet list, and w:num 2… one per numbered list (each restarts at 1). */
export const BULLET_NUM_ID = 1;
export const numberedNumId = (instance: number): number => 1 + instance;

export function numberingPart(numberedLists: number): string {
  const bullet = levels((l) => `<w:numFmt w:val="bullet"/><w:lvlText w:val="${BULLETS[l]}"/>`);
  const decimal = levels((l) => `<w:numFmt w:val="decimal"/><w:lvlText w:val="%${l + 1}."/>`);
  const restart = Array.from(
    { length: 9 },
    (_, l) => `<w:lvlOverride w:ilvl="${l}"><w:startOverride w:val="1"/></w:lvlOverride>`,
  ).join('');
  const nums = [`<w:num w:numId="${BULLET_NUM_ID}"><w:abstractNumId w:val="1"/></w:num>`];
  for (let i = 1; i <= numberedLists; i++)
    nums.push(`<w:num w:numId="${numberedNumId(i)}"><w:abstractNumId w:val="2"/>${restart}</w:num>`);
  return (
    `${DECL}<w:numbering ${W_ROOT}>` +
    `<w:abstractNum w:abstractNumId="1"><w:multiLevelType w:val="hybridMultilevel"/>${bullet}</w:abstractNum>` +
    `<w:abstractNum w:abstractNumId="2"><w:multiLevelType w:val="hybridMultilevel"/>${decimal}</w:abstractNum>` +
    `${nums.join('')}</w:numbering>`
  );
}

const paragraphStyle = (
  id: string,
  name: string,
  body: string,
  extra = '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>',
) => `<w:style w:type="paragraph" w:styleId="${id}"><w:name w:val="${name}"/>${extra}${body}</w:style>`;
/** A heading style; run properties in schema order: italics, colour, size (half-points). */
const heading = (level: number, color: string, size?: number, italic = false) =>
  paragraphStyle(
    `Heading${level}`,
    `heading ${level}`,
    `<w:pPr><w:keepNext/><w:spacing w:before="240"/><w:outlineLvl w:val="${level - 1}"/></w:pPr>` +
      `<w:rPr>${italic ? '<w:i/><w:iCs/>' : ''}<w:color w:val="${color}"/>${size ? `<w:sz w:val="${size}"/><w:szCs w:val="${size}"/>` : ''}</w:rPr>`,
  );

/** Styles: the defaults (11 pt, 6 pt after, 1.15 lines), Title, Heading 1–6, lists, links, quote, code. */
export function stylesPart(): string {
  return (
    `${DECL}<w:styles ${W_ROOT}>` +
    '<w:docDefaults><w:rPrDefault><w:rPr><w:sz w:val="22"/><w:szCs w:val="22"/></w:rPr></w:rPrDefault>' +
    '<w:pPrDefault><w:pPr><w:spacing w:after="120" w:line="276" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>' +
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>' +
    '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont"><w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/><w:unhideWhenUsed/></w:style>' +
    paragraphStyle('Title', 'Title', '<w:rPr><w:sz w:val="56"/><w:szCs w:val="56"/></w:rPr>') +
    heading(1, '2E74B5', 32) +
    heading(2, '2E74B5', 26) +
    heading(3, '1F4D78', 24) +
    heading(4, '2E74B5', undefined, true) +
    heading(5, '2E74B5') +
    heading(6, '1F4D78') +
    paragraphStyle('ListParagraph', 'List Paragraph', '', '<w:basedOn w:val="Normal"/><w:qFormat/>') +
    paragraphStyle(
      'MarginaliaQuote',
      'Quote',
      '<w:pPr><w:ind w:left="720"/></w:pPr><w:rPr><w:i/><w:iCs/><w:color w:val="555555"/></w:rPr>',
      '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/>',
    ) +
    paragraphStyle(
      'MarginaliaCode',
      'Code',
      '<w:rPr><w:rFonts w:ascii="Courier New" w:hAnsi="Courier New" w:eastAsia="Courier New" w:cs="Courier New"/><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr>',
      '<w:basedOn w:val="Normal"/>',
    ) +
    '<w:style w:type="character" w:styleId="Hyperlink"><w:name w:val="Hyperlink"/><w:basedOn w:val="DefaultParagraphFont"/><w:uiPriority w:val="99"/><w:unhideWhenUsed/><w:rPr><w:color w:val="0563C1"/><w:u w:val="single"/></w:rPr></w:style>' +
    '</w:styles>'
  );
}

/** Settings: Word 2013+ layout (no compatibility mode), half-inch tabs. */
export function settingsPart(): string {
  return `${DECL}<w:settings ${W_ROOT}><w:defaultTabStop w:val="720"/><w:characterSpacingControl w:val="doNotCompress"/><w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat></w:settings>`;
}

export interface CoreProperties {
  title: string;
  creator: string;
  created: number;
  modified: number;
}

export function corePart(p: CoreProperties): string {
  return (
    `${DECL}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ' +
    'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<dc:title>${xmlEscape(p.title)}</dc:title>` +
    `<dc:creator>${xmlEscape(p.creator)}</dc:creator>` +
    '<cp:lastModifiedBy>Marginalia</cp:lastModifiedBy>' +
    `<dcterms:created xsi:type="dcterms:W3CDTF">${utcSeconds(p.created)}</dcterms:created>` +
    `<dcterms:modified xsi:type="dcterms:W3CDTF">${utcSeconds(p.modified)}</dcterms:modified>` +
    '</cp:coreProperties>'
  );
}

function appPart(): string {
  return `${DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>Marginalia</Application></Properties>`;
}

// ---- Package -----------------------------------------------------------------------------------------------------

export interface DocxPackage {
  /** The body's paragraphs (XML). */
  body: string;
  core: CoreProperties;
  /** External hyperlink targets, by relationship id (as used in the body's w:hyperlink r:id). */
  links: ReadonlyMap<string, string>;
  numberedLists: number;
  /** No comments: no comment parts, relationships or content types at all. */
  comments: readonly WordComment[];
}

interface Part {
  path: string;
  contentType: string;
  xml: string;
  /** Relationship type from the document, when the document refers to the part. */
  rel?: string;
}

/** The .docx file: every part, zipped (deflate) in a fixed order with a fixed entry date. */
export function packDocx(pkg: DocxPackage): Uint8Array {
  const word: Part[] = [
    { path: 'word/styles.xml', contentType: `${CT}styles+xml`, xml: stylesPart(), rel: `${REL}styles` },
    {
      path: 'word/numbering.xml',
      contentType: `${CT}numbering+xml`,
      xml: numberingPart(pkg.numberedLists),
      rel: `${REL}numbering`,
    },
    { path: 'word/settings.xml', contentType: `${CT}settings+xml`, xml: settingsPart(), rel: `${REL}settings` },
  ];
  if (pkg.comments.length > 0) {
    word.push(
      {
        path: 'word/comments.xml',
        contentType: `${CT}comments+xml`,
        xml: commentsPart(pkg.comments),
        rel: `${REL}comments`,
      },
      {
        path: 'word/commentsExtended.xml',
        contentType: `${CT}commentsExtended+xml`,
        xml: commentsExtendedPart(pkg.comments),
        rel: 'http://schemas.microsoft.com/office/2011/relationships/commentsExtended',
      },
      {
        path: 'word/commentsIds.xml',
        contentType: `${CT}commentsIds+xml`,
        xml: commentsIdsPart(pkg.comments),
        rel: 'http://schemas.microsoft.com/office/2016/09/relationships/commentsIds',
      },
      {
        path: 'word/people.xml',
        contentType: `${CT}people+xml`,
        xml: peoplePart(pkg.comments),
        rel: 'http://schemas.microsoft.com/office/2011/relationships/people',
      },
    );
  }
  const main: Part = { path: 'word/document.xml', contentType: `${CT}document.main+xml`, xml: documentPart(pkg.body) };
  const core: Part = {
    path: 'docProps/core.xml',
    contentType: 'application/vnd.openxmlformats-package.core-properties+xml',
    xml: corePart(pkg.core),
  };
  const app: Part = {
    path: 'docProps/app.xml',
    contentType: 'application/vnd.openxmlformats-officedocument.extended-properties+xml',
    xml: appPart(),
  };
  const parts = [main, ...word, core, app];

  const contentTypes =
    `${DECL}<Types xmlns="${NS.types}">` +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' +
    parts.map((p) => `<Override PartName="/${p.path}" ContentType="${p.contentType}"/>`).join('') +
    '</Types>';
  const packageRels = relationships([
    ['rId1', `${REL}officeDocument`, 'word/document.xml'],
    [
      'rId2',
      'http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties',
      'docProps/core.xml',
    ],
    ['rId3', `${REL}extended-properties`, 'docProps/app.xml'],
  ]);
  const documentRels = relationships([
    ...word.map((p, i): Rel => [`rId${i + 1}`, p.rel!, p.path.slice('word/'.length)]),
    ...[...pkg.links].map(([id, url]): Rel => [id, `${REL}hyperlink`, url, true]),
  ]);

  const files: Zippable = {
    '[Content_Types].xml': strToU8(contentTypes),
    '_rels/.rels': strToU8(packageRels),
    'word/_rels/document.xml.rels': strToU8(documentRels),
  };
  for (const p of parts) files[p.path] = strToU8(p.xml);
  // Level 3: with fflate within 5 % of level 6's size at 30,000 comments, and close to twice as fast.
  return zipSync(files, { level: 3, mtime: zipDate(pkg.core.modified) });
}

type Rel = [id: string, type: string, target: string, external?: boolean];

function relationships(rels: readonly Rel[]): string {
  const body = rels
    .map(
      ([id, type, target, external]) =>
        `<Relationship Id="${id}" Type="${type}" Target="${xmlEscape(target)}"${external ? ' TargetMode="External"' : ''}/>`,
    )
    .join('');
  return `${DECL}<Relationships xmlns="${NS.rels}">${body}</Relationships>`;
}

/**
 * The zip entries' date: the export's time in UTC. Zip stores local wall-clock fields and fflate fills them from a
 * Date's local fields, so the Date is built from the UTC fields: the bytes are the same in every time zone.
 */
function zipDate(ms: number): Date {
  const d = new Date(isoTime(ms));
  const year = Math.min(2099, Math.max(1980, d.getUTCFullYear()));
  if (year !== d.getUTCFullYear()) return new Date(year, 0, 1);
  const local = new Date(year, d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
  // A wall-clock time that a daylight-saving jump skips here would shift: take that day's noon instead.
  if (local.getHours() !== d.getUTCHours() || local.getMinutes() !== d.getUTCMinutes())
    return new Date(year, d.getUTCMonth(), d.getUTCDate(), 12);
  return local;
}
