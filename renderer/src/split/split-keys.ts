/** The split editors' keys (ResNet, EDSR, detector). */

/** Ctrl+Z (Cmd+Z) undoes, Ctrl+Y or Ctrl+Shift+Z redoes; other keys pass untouched. */
export function onUndoRedoKey(event: KeyboardEvent, undo: () => void, redo: () => void): void {
  if (!(event.ctrlKey || event.metaKey)) return;
  const key = event.key.toLowerCase();
  if (key === 'z' && !event.shiftKey) {
    event.preventDefault();
    undo();
  } else if (key === 'y' || (key === 'z' && event.shiftKey)) {
    event.preventDefault();
    redo();
  }
}

/** On a gap button: the arrow keys move the focus to the previous or next gap of the diagram. */
export function onGapKey(event: KeyboardEvent): void {
  const step = event.key === 'ArrowRight' || event.key === 'ArrowDown' ? 1 : event.key === 'ArrowLeft' || event.key === 'ArrowUp' ? -1 : 0;
  if (!step) return;
  event.preventDefault();
  const gaps = [...(event.currentTarget as HTMLElement).parentElement!.querySelectorAll<HTMLButtonElement>('button.gap')];
  const at = gaps.indexOf(event.currentTarget as HTMLButtonElement);
  gaps[Math.max(0, Math.min(gaps.length - 1, at + step))]?.focus();
}
