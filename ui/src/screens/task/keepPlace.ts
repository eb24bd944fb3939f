// Updating the task screen in place must not move the inspector: the focused
// field keeps the focus and the scrolled page stays where it was.

/**
 * Notes where the focus and the scroll positions around `element` are now;
 * the function it answers puts them back (after an update).
 */
export function keepPlace(element: HTMLElement): () => void {
  const focused = document.activeElement;
  const scrolled = scrollPositions(element);
  return () => {
    restoreScroll(scrolled);
    if (focused instanceof HTMLElement && focused !== document.activeElement && focused.isConnected && !focused.closest("[hidden]")) {
      focused.focus({ preventScroll: true });
    }
  };
}

/** Scroll offsets of the screen's scrolling ancestors, to put back after an update. */
function scrollPositions(element: HTMLElement): [Element, number][] {
  const found: [Element, number][] = [];
  for (let node: Element | null = element; node !== null; node = node.parentElement) {
    if (node.scrollTop > 0) found.push([node, node.scrollTop]);
  }
  const page = document.scrollingElement;
  if (page !== null && page.scrollTop > 0 && !found.some(([n]) => n === page)) found.push([page, page.scrollTop]);
  return found;
}

function restoreScroll(positions: readonly [Element, number][]): void {
  for (const [node, top] of positions) if (node.scrollTop !== top) node.scrollTop = top;
}
