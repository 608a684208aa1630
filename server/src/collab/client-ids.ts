/**
 * Who owns each Yjs client id of a document. A client id is a writer's identity inside the CRDT: the first user
 * to write under an id owns it (recorded in storage, so the claim holds across restarts and instances), and only
 * that user may write under it again.
 */
import type { Storage } from '../storage/types.js';

export class ClientIdClaims {
  /** Owners of the client ids seen so far (a cache of the stored claims; a claim never changes hands). */
  private readonly owners = new Map<number, string>();

  constructor(
    private readonly documentId: string,
    private readonly storage: Storage,
  ) {}

  /**
   * Claims the ids for `userId` and returns one owned by someone else, or null. Synchronous when every id was
   * seen before (a client typing: no storage round trip, no await on the hot path); otherwise the unknown ids are
   * claimed in storage first.
   */
  claim(clientIds: number[], userId: string): number | null | Promise<number | null> {
    for (const id of clientIds) if (!this.owners.has(id)) return this.claimUnknown(clientIds, userId);
    return this.notOwnedBy(clientIds, userId);
  }

  private async claimUnknown(clientIds: number[], userId: string): Promise<number | null> {
    const unknown = clientIds.filter((id) => !this.owners.has(id));
    const owners = await this.storage.log.claimClientIds(this.documentId, userId, unknown);
    for (const [id, owner] of owners) this.owners.set(id, owner);
    return this.notOwnedBy(clientIds, userId);
  }

  private notOwnedBy(clientIds: number[], userId: string): number | null {
    for (const id of clientIds) if (this.owners.get(id) !== userId) return id;
    return null;
  }
}
