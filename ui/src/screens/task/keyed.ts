// Keyed lists: the screen keeps one element per item (checklist item,
// evidence card, conflict…) and updates it in place, so focus, typed text and
// scroll position survive a new TaskView.

export interface Part<T> {
  readonly element: HTMLElement;
  update(value: T): void;
  dispose?(): void;
}

/**
 * Makes `parent`'s children the parts for `values`, in order: reuses the part
 * cached under each key, creates missing ones, drops the rest.
 */
export function reconcile<T, P extends Part<T>>(
  parent: HTMLElement,
  cache: Map<string, P>,
  values: readonly T[],
  key: (value: T) => string,
  create: (value: T) => P,
): void {
  const seen = new Set<string>();
  let cursor: ChildNode | null = parent.firstChild;
  for (const value of values) {
    const k = key(value);
    if (seen.has(k)) continue;
    seen.add(k);
    let part = cache.get(k);
    if (part === undefined) {
      part = create(value);
      cache.set(k, part);
    }
    part.update(value);
    if (part.element === cursor) {
      cursor = cursor.nextSibling;
    } else {
      parent.insertBefore(part.element, cursor);
    }
  }
  for (const [k, part] of cache) {
    if (seen.has(k)) continue;
    part.element.remove();
    part.dispose?.();
    cache.delete(k);
  }
}
