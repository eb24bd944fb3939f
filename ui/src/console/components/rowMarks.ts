// el-table has no row attributes: this marks each body row (<tr>) of a table
// with a test id and its row's id (`data-task-id="T-1"`), for browser tests.
// Rows are marked in the order of `ids` (the table's data, not re-sorted by the
// table), again whenever the data or the rendered rows change.

import { type Ref, nextTick, onBeforeUnmount, onMounted, watch } from "vue";

export function useRowMarks(
  table: Ref<{ $el?: unknown } | null>,
  ids: () => readonly string[],
  testid: string,
  attribute: string,
): void {
  function mark(): void {
    const el = table.value?.$el;
    if (!(el instanceof HTMLElement)) return;
    const list = ids();
    el.querySelectorAll("tbody tr.el-table__row").forEach((tr, index) => {
      const id = list[index];
      if (id === undefined) return;
      if (tr.getAttribute(attribute) !== id) tr.setAttribute(attribute, id);
      if (tr.getAttribute("data-testid") !== testid) tr.setAttribute("data-testid", testid);
    });
  }

  let observer: MutationObserver | null = null;
  watch(ids, async () => {
    await nextTick();
    mark();
  });
  onMounted(() => {
    const el = table.value?.$el;
    if (el instanceof HTMLElement && typeof MutationObserver !== "undefined") {
      observer = new MutationObserver(mark);
      observer.observe(el, { childList: true, subtree: true });
    }
    mark();
  });
  onBeforeUnmount(() => observer?.disconnect());
}
