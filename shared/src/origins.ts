/**
 * Transaction origins of the model's mutations (`doc.transact(fn, origin)`), so observers, the server's write
 * path and undo managers can tell what a change was. Plain strings: they survive structured cloning and logging.
 */
export const ORIGIN = {
  createThread: 'marginalia:create-thread',
  deleteThread: 'marginalia:delete-thread',
  addComment: 'marginalia:add-comment',
  editComment: 'marginalia:edit-comment',
  deleteComment: 'marginalia:delete-comment',
  setThreadStatus: 'marginalia:set-thread-status',
  setThreadTags: 'marginalia:set-thread-tags',
  reattachThread: 'marginalia:reattach-thread',
  purgeInvalid: 'marginalia:purge-invalid',
  meta: 'marginalia:meta',
  vocabulary: 'marginalia:vocabulary',
} as const;

export type ModelOrigin = (typeof ORIGIN)[keyof typeof ORIGIN];
