/**
 * The relational part of storage, written once with Kysely for both engines. The engine-specific remainder is
 * how each reports a unique-key violation (`isUniqueViolation`, passed in by the engine).
 */
import { sql, type CompiledQuery, type Compilable, type Kysely } from 'kysely';
import type { Role } from '@marginalia/shared';
import type { Database, DocumentRow, UserRow } from './schema.js';
import {
  StorageError,
  type AuditRecord,
  type DocumentFields,
  type DocumentRecord,
  type Member,
  type Records,
  type UserRecord,
} from './types.js';

const toDocument = (r: DocumentRow): DocumentRecord => ({
  id: r.id,
  title: r.title,
  guestRole: (r.guest_role as Role | null) ?? null,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  threadCount: r.thread_count,
  commentCount: r.comment_count,
});

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  username: r.username,
  name: r.name,
  passwordHash: r.password_hash,
  isAdmin: r.is_admin === true || r.is_admin === 1,
  createdAt: r.created_at,
  disabled: r.disabled === true || r.disabled === 1,
});

/** Document fields that may change, with their columns. */
const DOCUMENT_COLUMNS = {
  title: 'title',
  guestRole: 'guest_role',
  updatedAt: 'updated_at',
  threadCount: 'thread_count',
  commentCount: 'comment_count',
} as const satisfies Record<keyof DocumentFields, string>;

/**
 * A query compiled once, run with new values: for the statements run per update (the role read), where building
 * and compiling the query would cost more than running it. `build` gets a placeholder for each name; every
 * parameter of the compiled query must be one of them (checked once, here).
 */
function precompiled<N extends string, R>(
  db: Kysely<Database>,
  names: readonly N[],
  build: (values: Record<N, string>) => Compilable<R>,
): (values: Record<N, string>) => Promise<R[]> {
  let compiled: { query: CompiledQuery<R>; slots: N[] } | null = null;
  return async (values) => {
    if (!compiled) {
      const placeholders = Object.fromEntries(names.map((n) => [n, `\u0000${n}`])) as Record<N, string>;
      const query = build(placeholders).compile();
      const slots = query.parameters.map((p) => {
        const name = names.find((n) => placeholders[n] === p);
        if (!name) throw new Error(`precompiled query with a parameter that is not a placeholder: ${String(p)}`);
        return name;
      });
      compiled = { query, slots };
    }
    const { query, slots } = compiled;
    return (await db.executeQuery<R>({ ...query, parameters: slots.map((n) => values[n]) })).rows;
  };
}

export function relationalRecords(db: Kysely<Database>, isUniqueViolation: (e: unknown) => boolean): Records {
  // Run for every update a client sends (its sender's role at that moment).
  const accessQuery = precompiled(db, ['docId', 'uid'], ({ docId, uid }) =>
    db
      .selectFrom('documents as d')
      .leftJoin('memberships as m', (j) => j.onRef('m.doc_id', '=', 'd.id').on('m.user_id', '=', uid))
      .leftJoin('users as u', (j) => j.on('u.id', '=', uid))
      .select(['d.guest_role', 'm.role', 'u.disabled'])
      .where('d.id', '=', docId),
  );
  return {
    async createDocument(d) {
      const r = d.record;
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('documents')
            .values({
              id: r.id,
              title: r.title,
              guest_role: r.guestRole,
              created_by: r.createdBy,
              created_at: r.createdAt,
              updated_at: r.updatedAt,
              thread_count: r.threadCount,
              comment_count: r.commentCount,
            })
            .execute();
          await trx.insertInto('updates').values({ doc_id: r.id, seq: 1, data: d.initialUpdate }).execute();
          // The row above is what projecting the first entry would make (its counts, its time): it starts projected.
          await trx.insertInto('projection_cursors').values({ doc_id: r.id, seq: 1 }).execute();
          if (d.members.length) {
            await trx
              .insertInto('memberships')
              .values(d.members.map((m) => ({ doc_id: r.id, user_id: m.userId, role: m.role })))
              .execute();
          }
          await d.derived?.(trx);
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw new StorageError(`document ${r.id} exists`, 'conflict');
        throw e;
      }
    },
    async getDocument(id) {
      const r = await db.selectFrom('documents').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toDocument(r) : null;
    },
    async listDocuments() {
      const rows = await db.selectFrom('documents').selectAll().orderBy('updated_at', 'desc').orderBy('id').execute();
      return rows.map(toDocument);
    },
    async updateDocument(id, fields) {
      const set: Record<string, unknown> = {};
      for (const [key, column] of Object.entries(DOCUMENT_COLUMNS)) {
        const value = fields[key as keyof DocumentFields];
        if (value !== undefined) set[column] = value;
      }
      if (Object.keys(set).length === 0) return;
      await db.updateTable('documents').set(set).where('id', '=', id).execute();
    },
    async deleteDocument(id) {
      const r = await db.deleteFrom('documents').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async createUser(u) {
      try {
        await db
          .insertInto('users')
          .values({
            id: u.id,
            username: u.username,
            name: u.name,
            password_hash: u.passwordHash,
            is_admin: u.isAdmin ? 1 : 0,
            created_at: u.createdAt,
          })
          .execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw new StorageError(`username ${u.username} is taken`, 'conflict');
        throw e;
      }
    },
    async getUserById(id) {
      const r = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toUser(r) : null;
    },
    async getUserByUsername(username) {
      const r = await db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
      return r ? toUser(r) : null;
    },
    async setPassword(userId, hash) {
      await db.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute();
    },

    async setUserDisabled(userId, disabled) {
      const r = await db
        .updateTable('users')
        .set({ disabled: disabled ? 1 : 0 })
        .where('id', '=', userId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async disabledUserIds() {
      const rows = await db
        .selectFrom('users')
        .select('id')
        // TRUE reads as 1 in SQLite and as a boolean in PostgreSQL.
        .where(sql<boolean>`disabled = TRUE`)
        .execute();
      return rows.map((r) => r.id);
    },

    async setMember(docId, userId, role) {
      await db
        .insertInto('memberships')
        .values({ doc_id: docId, user_id: userId, role })
        .onConflict((oc) => oc.columns(['doc_id', 'user_id']).doUpdateSet({ role }))
        .execute();
    },
    async removeMember(docId, userId) {
      const r = await db
        .deleteFrom('memberships')
        .where('doc_id', '=', docId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async getMemberRole(docId, userId) {
      const r = await db
        .selectFrom('memberships')
        .select('role')
        .where('doc_id', '=', docId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return (r?.role as Role | undefined) ?? null;
    },
    async listMembers(docId): Promise<Member[]> {
      const rows = await db
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.user_id', 'u.username', 'u.name', 'm.role'])
        .where('m.doc_id', '=', docId)
        .orderBy('u.username')
        .execute();
      return rows.map((m) => ({ userId: m.user_id, username: m.username, name: m.name, role: m.role as Role }));
    },
    async accessOf(docId, userId) {
      const [r] = await accessQuery({ docId, uid: userId ?? '' });
      if (!r) return { exists: false, guestRole: null, memberRole: null, disabled: false };
      return {
        exists: true,
        guestRole: (r.guest_role as Role | null) ?? null,
        memberRole: (r.role as Role | null) ?? null,
        disabled: r.disabled === true || r.disabled === 1,
      };
    },
    async memberNamesOnGuestDocuments() {
      return db
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .innerJoin('documents as d', 'd.id', 'm.doc_id')
        .select(['u.username', 'u.name'])
        .distinct()
        .where('d.guest_role', 'is not', null)
        .execute();
    },
    async membershipsOf(userId) {
      const rows = await db
        .selectFrom('memberships')
        .select(['doc_id', 'role'])
        .where('user_id', '=', userId)
        .execute();
      return new Map(rows.map((m) => [m.doc_id, m.role as Role]));
    },

    async audit(e) {
      await db
        .insertInto('audit')
        .values({
          doc_id: e.docId,
          actor_id: e.actorId,
          action: e.action,
          detail: JSON.stringify(e.detail),
          at: Date.now(),
        })
        .execute();
    },
    async listAudit(docId, limit = 200): Promise<AuditRecord[]> {
      const rows = await db
        .selectFrom('audit')
        .selectAll()
        .where('doc_id', '=', docId)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        docId: r.doc_id,
        actorId: r.actor_id,
        action: r.action,
        detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>,
        at: r.at,
      }));
    },

    async getSetting(key) {
      const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return r?.value ?? null;
    },
    async setSetting(key, value) {
      await db
        .insertInto('settings')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    },
    async settingOrInit(key, value) {
      await db
        .insertInto('settings')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
      return r.value;
    },
  };
}
