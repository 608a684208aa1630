/** Moves keyboard focus to a thread's card once the margin has rendered it (it may take a frame or two). */
export function focusCardWhenShown(threadId: string, framesLeft = 10): void {
  requestAnimationFrame(() => {
    const card = document.querySelector<HTMLElement>(`[data-thread-card="${CSS.escape(threadId)}"]`);
    if (card) card.focus({ preventScroll: true });
    else if (framesLeft > 0) focusCardWhenShown(threadId, framesLeft - 1);
  });
}
