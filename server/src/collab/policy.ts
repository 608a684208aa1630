/**
 * Who may change what in a document, decided per item before an update is applied. Pure: a decision from the
 * caller, the document as it is, and what the update would change. The rules themselves are data in `shared`'s
 * rule table (DOCUMENT_WRITERS, THREAD_FIELDS, COMMENT_FIELDS); this module applies them in three steps:
 * decode what the update touches (inspect.ts), classify each touched item to what it is in the schema (a thread,
 * a field of a thread or comment, an element of a list), and check each against the table.
 *
 * - viewer: nothing.
 * - commenter: only inside `threads`, as the table allows (new threads and comments of their own, resolving and
 *   tagging any thread, editing and soft-deleting their own comments).
 * - editor: the same in `threads`, and anything in `root`, `meta` and `vocabulary`.
 * - owner: everything, except that new threads and comments, like everyone's, arrive complete and valid.
 * An update is accepted or refused whole.
 */
import * as Y from 'yjs';
import {
  DOCUMENT_WRITERS,
  ROLE_RANK,
  THREADS,
  THREAD_LIST,
  threadsMap,
  vocabularyMap,
  type FieldRule,
  type FieldTable,
  type ItemRules,
  type ListRule,
  type Role,
  type RuleContext,
  type Writer,
} from '@marginalia/shared';
import { inspectUpdate, type ItemChange, type Location, type Step, type UpdateChanges } from './inspect.js';

export interface UpdateContext {
  role: Role;
  userId: string;
  userName: string;
}

export type PolicyDecision =
  | { ok: true; empty: boolean; writers: number[] }
  /** `retry`: not a refusal of the user, but of this server's state (it lacks what the update builds on). */
  | { ok: false; rule: string; retry?: boolean };

/**
 * The decision on one update from `ctx` to `doc`. Owners may change anything, but they too create threads and
 * comments whole and valid: their updates are located only as far as the shared types they create, and checked
 * further only when one of those is under `threads`.
 */
export function checkUpdate(ctx: UpdateContext, doc: Y.Doc, update: Uint8Array): PolicyDecision {
  const owner = ctx.role === 'owner';
  const inspected = inspectUpdate(doc, update, { locate: owner ? { types: true, entriesOf: THREADS } : true });
  const { changes, missingDependencies } = inspected;
  if (changes.length === 0 && !missingDependencies) return { ok: true, empty: true, writers: [] };
  if (ctx.role === 'viewer') return deny('viewers may not change the document');
  // Owners too: Yjs would keep such content pending, stored but not applied (and a pending delete set can
  // make a later apply throw, so the stored log no longer loads).
  if (missingDependencies)
    return { ok: false, rule: 'the update builds on content this server does not have yet', retry: true };
  if (owner) return checkOwnerUpdate(ctx, doc, update, inspected);
  const judge = new Judge(ctx, doc, inspected);
  for (const change of outermostFirst(changes)) {
    const rule = judge.check(change);
    if (rule) return deny(rule);
  }
  const incomplete = checkNewItemsComplete(newItems(inspected));
  if (incomplete) return deny(incomplete);
  return { ok: true, empty: false, writers: inspected.writers };
}

/**
 * An owner's update: anything goes, except that the threads and comments it creates arrive complete and valid,
 * as anyone's must. Cheap unless the update creates a shared type under `threads` (only its new types were
 * located): then it is located whole, and what it puts into its new threads and comments is checked.
 */
function checkOwnerUpdate(
  ctx: UpdateContext,
  doc: Y.Doc,
  update: Uint8Array,
  typesLocated: UpdateChanges,
): PolicyDecision {
  const ok: PolicyDecision = { ok: true, empty: false, writers: typesLocated.writers };
  if (!typesLocated.changes.some((c) => c.at?.root === THREADS)) return ok;
  const inspected = inspectUpdate(doc, update);
  const created = newItems(inspected);
  const judge = new Judge(ctx, doc, inspected);
  for (const change of outermostFirst(inspected.changes)) {
    if (!withinNewItem(change, created)) continue;
    const rule = judge.check(change);
    if (rule) return deny(rule);
  }
  const incomplete = checkNewItemsComplete(created);
  return incomplete ? deny(incomplete) : ok;
}

/** Whether a change adds an entry to `threads`, creates one of `created`, or sits inside one. */
function withinNewItem(c: ItemChange, created: Map<Y.Item, NewItem>): boolean {
  if (c.kind !== 'insert') return false;
  if (created.has(c.item) || (c.at?.root === THREADS && c.at.steps.length === 0)) return true;
  return c.at?.steps.some((step) => 'created' in step.ref && created.has(step.ref.created)) ?? false;
}

const deny = (rule: string): PolicyDecision => ({ ok: false, rule });

/** Outermost changes first, so a refusal names what the user did (deleting a thread deletes its comments too). */
export function outermostFirst(changes: readonly ItemChange[]): ItemChange[] {
  return [...changes].sort((a, b) => (a.at?.steps.length ?? -1) - (b.at?.steps.length ?? -1));
}

/** What a touched item is in the schema. */
export type Touch =
  /** An item whose place could not be found. */
  | { kind: 'unlocated' }
  /** Anything in a top-level type other than `threads`. */
  | { kind: 'document'; root: string }
  /** An element of a list: a thread in `threads`, a tag in a thread's tags, a comment in its comments. */
  | { kind: 'element'; list: ListRule; key: string | null }
  /** A field of a thread or comment (`item` is that thread's or comment's map). */
  | { kind: 'field'; of: ItemRules<FieldTable>; item: Step; field: string | null }
  /** Something placed where the schema has no place for it; `rule` says why. */
  | { kind: 'misplaced'; rule: string };

/**
 * Classifies a change by walking its location down the schema: `threads` is a list of threads, a thread's
 * fields are in THREAD_FIELDS, a field with a `list` rule holds elements, and elements that are items (comments)
 * have fields of their own.
 */
export function classify(at: Location | null): Touch {
  if (!at) return { kind: 'unlocated' };
  if (at.root !== THREADS) return { kind: 'document', root: at.root };
  let list: ListRule = THREAD_LIST;
  let holderOfList: ItemRules<FieldTable> | null = null; // the item whose field `list` is (none for `threads`)
  for (let i = 0; ; i += 2) {
    // steps[i] is an element of `list`; steps[i + 1] is a field of that element, holding a list
    const element = at.steps[i];
    if (!element) return { kind: 'element', list, key: at.key };
    if (list.of === 'value')
      return { kind: 'misplaced', rule: holderOfList!.nestedRefusal(String(at.steps[i - 1]!.key)) };
    const item = list.of;
    const field = at.steps[i + 1];
    if (!field) return { kind: 'field', of: item, item: element, field: at.key };
    const rule = fieldRule(item, field.key);
    if (!rule?.list) return { kind: 'misplaced', rule: item.nestedRefusal(String(field.key)) };
    list = rule.list;
    holderOfList = item;
  }
}

/** The table's rule for a field name (own entries only: a key like `constructor` is no field). */
function fieldRule(of: ItemRules<FieldTable>, field: string | null): FieldRule<unknown> | undefined {
  return field !== null && Object.hasOwn(of.fields, field) ? of.fields[field] : undefined;
}

const RANK_OF_WRITER: Partial<Record<Writer, number>> = {
  commenter: ROLE_RANK.commenter,
  editor: ROLE_RANK.editor,
  owner: ROLE_RANK.owner,
};

/**
 * Checks the touched items of one update against the rule table: every change of a non-owner's update, and what an
 * owner's update puts into the threads and comments it creates.
 */
export class Judge {
  private readonly rules: RuleContext;

  constructor(
    private readonly ctx: UpdateContext,
    private readonly doc: Y.Doc,
    private readonly inspected: UpdateChanges,
  ) {
    const vocabulary = vocabularyMap(doc) as Y.Map<unknown>;
    this.rules = {
      userId: ctx.userId,
      userName: ctx.userName,
      threadKey: null,
      hasTag: (tag) => vocabulary.has(tag),
    };
  }

  /** Returns the broken rule, or null when the change is allowed. */
  check(c: ItemChange): string | null {
    const single = checkSingleValue(c);
    if (single) return single;
    const touch = classify(c.at);
    switch (touch.kind) {
      case 'unlocated':
        return 'the update touches content that cannot be located';
      case 'document':
        return this.checkDocumentType(touch.root);
      case 'misplaced':
        return touch.rule;
      case 'element':
        return this.checkElement(touch.list, touch.key, c);
      case 'field':
        return this.checkField(touch.of, touch.item, touch.field, c, c.at!.steps[0]?.key ?? null);
    }
  }

  /** The top-level types other than `threads`: by role, from DOCUMENT_WRITERS. */
  checkDocumentType(root: string): string | null {
    const writer = Object.hasOwn(DOCUMENT_WRITERS, root) ? DOCUMENT_WRITERS[root] : undefined;
    const rank = ROLE_RANK[this.ctx.role];
    if (writer && rank >= (RANK_OF_WRITER[writer] ?? Infinity)) return null;
    return rank >= ROLE_RANK.editor
      ? `unknown shared type "${root}"`
      : `commenters may change only threads (touched ${root})`;
  }

  /** Adding or removing an element of a list (`key`: its key in a keyed list, i.e. a thread id). */
  checkElement(list: ListRule, key: string | null, c: ItemChange): string | null {
    if (c.kind === 'delete')
      return this.may(list.removedBy) ? null : (list.removeRefusal ?? 'only owners may remove this');
    if (!this.may(list.addedBy)) return 'only owners may add this';
    if (list.of === 'value') {
      if (!list.element) return null;
      for (const value of c.item.content.getContent()) {
        const rule = list.element(value, this.rules);
        if (rule) return rule;
      }
      return null;
    }
    if (list.key) {
      const rule = list.key(key, this.rules);
      if (rule) return rule;
    }
    if (list.replaceRefusal && key !== null && this.ctx.role !== 'owner' && threadsMap(this.doc).has(key))
      return list.replaceRefusal;
    if (!(c.item.content instanceof Y.ContentType)) return list.notMapRefusal ?? 'an element must be a map';
    return null;
  }

  /** Setting or deleting a field of a thread or comment: at its creation, or later by who the table allows. */
  checkField(
    of: ItemRules<FieldTable>,
    item: Step,
    field: string | null,
    c: ItemChange,
    threadKey: string | null,
  ): string | null {
    const rule = fieldRule(of, field);
    if (!rule || field === null) return `unknown ${of.name} field "${field}"`;
    if ('created' in item.ref) return this.checkValue(c, rule.created, threadKey);
    if (rule.changedBy === 'commenter') return rule.changed ? this.checkValue(c, rule.changed, threadKey) : null;
    if (rule.changedBy === 'editor-or-creator') {
      const creator = of.creatorField ? this.inspected.valueOf(item.ref, of.creatorField) : undefined;
      if (ROLE_RANK[this.ctx.role] < ROLE_RANK.editor && (creator === undefined || creator !== this.ctx.userId))
        return of.creatorRefusal?.(field) ?? of.fixedRefusal(field);
      return rule.changed ? this.checkValue(c, rule.changed, threadKey) : null;
    }
    const author = of.authorField ? this.inspected.valueOf(item.ref, of.authorField) : undefined;
    if (of.authorField && author !== this.ctx.userId) return `only its author may change a ${of.name}`;
    if (rule.changedBy === 'owner') return of.fixedRefusal(field);
    return rule.changed ? this.checkValue(c, rule.changed, threadKey) : null;
  }

  /**
   * Checks the value a map entry the update inserts sets (deletions of such entries pass). Every entry the update
   * makes for a key is checked, not only the one that looks newest: concurrent entries (several client ids in one
   * update) are ordered by Yjs, not by their place in the update. Entries already overwritten inside the update
   * (deleted content) show nothing and pass.
   */
  private checkValue(
    c: ItemChange,
    check: (v: unknown, ctx: RuleContext) => string | null,
    threadKey: string | null,
  ): string | null {
    if (c.kind !== 'insert' || c.item.content instanceof Y.ContentDeleted) return null;
    return check(c.item.content.getContent()[c.item.length - 1], { ...this.rules, threadKey });
  }

  /** Whether the sender's role is one the writer names (non-owners: `creator` and `author` are checked apart). */
  private may(writer: Writer): boolean {
    const rank = RANK_OF_WRITER[writer];
    return rank === undefined || ROLE_RANK[this.ctx.role] >= rank;
  }
}

/**
 * Y.Map reads the last value of an entry: an entry with several could show one value to the policy and another to
 * readers. Yjs itself never writes more than one.
 */
export function checkSingleValue(c: ItemChange): string | null {
  const several =
    c.kind === 'insert' && c.at?.key != null && c.item.length !== 1 && !(c.item.content instanceof Y.ContentDeleted);
  return several ? 'a map entry holds exactly one value' : null;
}

/** A thread or comment the update creates: which fields it sets, and how many new elements each of its lists gets. */
export interface NewItem {
  of: ItemRules<FieldTable>;
  fields: Set<string>;
  elements: Map<string, number>;
}

/**
 * The threads and comments an update creates, with what it puts in them. Content the update itself deletes
 * (overwritten entries, or items its own delete set removes) does not count: it will not be there.
 */
export function newItems(inspected: UpdateChanges): Map<Y.Item, NewItem> {
  const items = new Map<Y.Item, NewItem>();
  const itemOf = (item: Y.Item, of: ItemRules<FieldTable>): NewItem => {
    let entry = items.get(item);
    if (!entry) items.set(item, (entry = { of, fields: new Set(), elements: new Map() }));
    return entry;
  };
  for (const c of outermostFirst(inspected.changes)) {
    if (c.kind !== 'insert' || c.item.content instanceof Y.ContentDeleted || inspected.deletesOwn(c.item)) continue;
    const touch = classify(c.at);
    if (touch.kind === 'element' && touch.list.of !== 'value' && c.item.content instanceof Y.ContentType) {
      itemOf(c.item, touch.list.of);
      // a new element of a list field of a new item (a comment in a new thread's comments)
      const [holder, field] = c.at!.steps.slice(-2);
      const parent = holder && 'created' in holder.ref ? items.get(holder.ref.created) : undefined;
      if (parent && field?.key != null) parent.elements.set(field.key, (parent.elements.get(field.key) ?? 0) + 1);
    } else if (touch.kind === 'field' && touch.field !== null && 'created' in touch.item.ref) {
      items.get(touch.item.ref.created)?.fields.add(touch.field);
    }
  }
  return items;
}

/**
 * A thread or comment arrives whole, in the update that creates it: every field the table does not let it omit,
 * and, in lists that may not start empty, at least one new element (a new thread's first comment).
 */
export function checkNewItemsComplete(items: Map<Y.Item, NewItem>): string | null {
  for (const { of, fields, elements } of items.values()) {
    for (const [name, rule] of Object.entries(of.fields) as [string, FieldRule<unknown>][]) {
      if (!rule.mayOmit && !fields.has(name)) return `a new ${of.name} arrives with its ${name}`;
      if (rule.list?.emptyRefusal && !elements.get(name)) return rule.list.emptyRefusal;
    }
  }
  return null;
}
