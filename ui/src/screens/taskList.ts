// The task list: the inspector's start screen. A search box, status chips and
// department and due-date pickers on top, then one row per task from the local
// store (code, business, USCC, departments, due date, status, unsynced
// marker). Overdue and returned tasks stand out. Shows a loading, an empty and
// an error state.

import { type Backend, BackendError, type TaskRow } from "../backend/backend";
import { formatDate } from "../dates";
import { h, replaceChildren } from "../dom";
import { errorText, type I18n } from "../i18n";
import { dueHint, isClosed, isOverdue } from "../tasks/due";
import {
  DUE_FILTERS,
  type DueFilter,
  isFiltered,
  NO_FILTER,
  orderForList,
  queryFor,
  STATUS_FILTERS,
  type StatusFilter,
  type TaskFilter,
} from "../tasks/filter";
import type { Screen } from "./screen";

export interface TaskListDeps {
  backend: Backend;
  i18n: I18n;
  /** Milliseconds since the epoch; `Date.now` unless a test pins it. */
  now?: () => number;
  /** IANA time zone for dates; the device's unless a test pins it. */
  timeZone?: string;
  /** Pause after the last keystroke before searching. */
  searchDelayMs?: number;
  /** Opens a task; without it the rows are not links. */
  onOpen?: (taskId: string) => void;
}

export interface TaskListScreen extends Screen {
  readonly filter: Readonly<TaskFilter>;
  /** Loads the rows again (after a sync, say). */
  refresh(): Promise<void>;
  /** Resolves once the latest load has been shown. */
  settled(): Promise<void>;
}

type View =
  | { phase: "loading" }
  /** `filter`: the filter the rows were asked with. */
  | { phase: "ready"; rows: TaskRow[]; filter: TaskFilter }
  | { phase: "error"; error: BackendError };

export function taskListScreen(deps: TaskListDeps): TaskListScreen {
  const { backend, i18n } = deps;
  const now = deps.now ?? Date.now;
  const searchDelayMs = deps.searchDelayMs ?? 250;

  let filter: TaskFilter = { ...NO_FILTER };
  let view: View = { phase: "loading" };
  let loads = 0;
  let latest: Promise<void> = Promise.resolve();
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Every department code seen in a row, so the department picker keeps its
   * choices while a filter hides some rows (the first load is unfiltered).
   */
  const departments = new Set<string>();

  const search = h("input", {
    class: "search-input",
    testid: "task-search",
    attrs: { type: "search", enterkeyhint: "search", autocomplete: "off", spellcheck: "false" },
    on: {
      input: (event) => {
        // Pinyin and other input methods fire input events while composing; search once the text is committed.
        if (!(event as InputEvent).isComposing) onSearchInput();
      },
      compositionend: () => onSearchInput(),
      keydown: (event) => {
        if (event.key === "Enter") searchNow();
      },
    },
  });
  const clear = h("button", {
    class: "search-clear",
    testid: "task-search-clear",
    text: "×",
    attrs: { type: "button" },
    on: {
      click: () => {
        search.value = "";
        searchNow();
        search.focus();
      },
    },
  });
  const chips = new Map<StatusFilter, HTMLButtonElement>(
    STATUS_FILTERS.map((status) => [
      status,
      h("button", {
        class: `chip chip-${status}`,
        testid: `filter-${status}`,
        attrs: { type: "button" },
        on: { click: () => setStatus(status) },
      }),
    ]),
  );
  const chipGroup = h("div", { class: "chips", attrs: { role: "group" } }, ...chips.values());
  const departmentLabel = h("span", { class: "filter-label" });
  const departmentSelect = h("select", {
    class: "filter-select",
    testid: "filter-department",
    on: { change: () => setDepartment(departmentSelect.value === "" ? null : departmentSelect.value) },
  });
  const dueLabel = h("span", { class: "filter-label" });
  const dueOptions = new Map<DueFilter, HTMLOptionElement>(
    DUE_FILTERS.map((due) => [due, h("option", { attrs: { value: due } })]),
  );
  const dueSelect = h(
    "select",
    {
      class: "filter-select",
      testid: "filter-due",
      on: { change: () => setDue(DUE_FILTERS.find((due) => due === dueSelect.value) ?? "any") },
    },
    ...dueOptions.values(),
  );
  const filterFields = h(
    "div",
    { class: "filter-fields" },
    h("label", { class: "filter-field" }, departmentLabel, departmentSelect),
    h("label", { class: "filter-field" }, dueLabel, dueSelect),
  );
  const count = h("p", { class: "task-count", testid: "task-count", attrs: { "aria-live": "polite" } });
  const body = h("div", { class: "task-list-body", testid: "task-list-body" });
  const element = h(
    "section",
    { class: "task-list", testid: "task-list-screen" },
    h(
      "div",
      { class: "toolbar" },
      h("label", { class: "search" }, search, clear),
      h("div", { class: "filters" }, chipGroup, filterFields),
    ),
    count,
    body,
  );

  function onSearchInput(): void {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchNow, searchDelayMs);
  }

  function searchNow(): void {
    clearTimeout(searchTimer);
    if (search.value === filter.text) return;
    filter = { ...filter, text: search.value };
    renderChrome();
    void load();
  }

  function setStatus(status: StatusFilter): void {
    if (status === filter.status) return;
    setFilter({ ...filter, status });
  }

  function setDepartment(department: string | null): void {
    if (department === filter.department) return;
    setFilter({ ...filter, department });
  }

  function setDue(due: DueFilter): void {
    if (due === filter.due) return;
    setFilter({ ...filter, due });
  }

  function clearFilters(): void {
    clearTimeout(searchTimer);
    search.value = "";
    setFilter({ ...NO_FILTER });
  }

  function setFilter(next: TaskFilter): void {
    filter = next;
    renderChrome();
    void load();
  }

  function load(): Promise<void> {
    const mine = ++loads;
    const asked = filter;
    if (view.phase !== "ready") view = { phase: "loading" };
    body.setAttribute("aria-busy", "true");
    renderBody();
    const query = queryFor(asked, { nowMs: now(), timeZone: deps.timeZone });
    // No query: no task can match (closed tasks are never due), so there is nothing to ask.
    const answer = query === null ? Promise.resolve<TaskRow[]>([]) : backend.listTasks(query);
    latest = answer.then(
      (rows) => {
        rememberDepartments(rows);
        show(mine, { phase: "ready", rows: orderForList(rows), filter: asked });
      },
      (reason: unknown) => show(mine, { phase: "error", error: BackendError.from(reason) }),
    );
    return latest;
  }

  function rememberDepartments(rows: readonly TaskRow[]): void {
    const before = departments.size;
    for (const row of rows) for (const code of row.departments) departments.add(code);
    if (departments.size !== before) renderDepartments();
  }

  function show(load: number, next: View): void {
    if (load !== loads) return; // a newer load is on its way
    view = next;
    body.removeAttribute("aria-busy");
    renderBody();
  }

  function renderChrome(): void {
    search.placeholder = i18n.t("taskList.search.placeholder");
    search.setAttribute("aria-label", i18n.t("taskList.search.label"));
    clear.setAttribute("aria-label", i18n.t("taskList.search.clear"));
    clear.hidden = filter.text === "";
    chipGroup.setAttribute("aria-label", i18n.t("taskList.filter.label"));
    for (const [status, chip] of chips) {
      chip.textContent = i18n.t(`taskList.filter.${status}`);
      chip.setAttribute("aria-pressed", String(status === filter.status));
    }
    departmentLabel.textContent = i18n.t("taskList.department.label");
    renderDepartments();
    dueLabel.textContent = i18n.t("taskList.due.label");
    for (const [due, option] of dueOptions) option.textContent = i18n.t(`taskList.due.${due}`);
    dueSelect.value = filter.due;
    dueSelect.classList.toggle("is-set", filter.due !== "any");
  }

  /** The department picker: every department seen, by name in the current language. */
  function renderDepartments(): void {
    const name = (code: string) => i18n.lookup(`dept.${code}`, code);
    const collator = new Intl.Collator(i18n.locale);
    const codes = [...departments].sort((a, b) => collator.compare(name(a), name(b)) || (a < b ? -1 : a > b ? 1 : 0));
    if (filter.department !== null && !departments.has(filter.department)) codes.push(filter.department);
    departmentSelect.replaceChildren(
      h("option", { attrs: { value: "" }, text: i18n.t("taskList.department.all") }),
      ...codes.map((code) => h("option", { attrs: { value: code }, text: name(code) })),
    );
    departmentSelect.value = filter.department ?? "";
    departmentSelect.classList.toggle("is-set", filter.department !== null);
  }

  function renderBody(): void {
    switch (view.phase) {
      case "loading":
        count.textContent = "";
        replaceChildren(body, h("p", { class: "state state-loading", testid: "task-list-loading", text: i18n.t("taskList.loading") }));
        break;
      case "error":
        count.textContent = "";
        replaceChildren(body, errorState(view.error));
        break;
      case "ready": {
        const { rows } = view;
        const filtered = isFiltered(view.filter);
        count.textContent = i18n.plural(filtered ? "taskList.countFiltered" : "taskList.count", rows.length);
        if (rows.length === 0) {
          replaceChildren(body, emptyState(filtered));
        } else {
          const nowMs = now();
          const row = (task: TaskRow) =>
            taskRowElement(task, { i18n, nowMs, timeZone: deps.timeZone, onOpen: deps.onOpen });
          replaceChildren(body, h("ul", { class: "task-rows", testid: "task-rows" }, ...rows.map(row)));
        }
        break;
      }
    }
  }

  function emptyState(filtered: boolean): HTMLElement {
    return h(
      "div",
      { class: "state state-empty", testid: "task-list-empty" },
      h("p", { class: "state-title", text: i18n.t(filtered ? "taskList.empty.filteredTitle" : "taskList.empty.title") }),
      h("p", { class: "state-hint", text: i18n.t(filtered ? "taskList.empty.filteredHint" : "taskList.empty.hint") }),
      filtered &&
        h("button", {
          class: "button",
          testid: "filters-clear",
          text: i18n.t("taskList.filters.clear"),
          attrs: { type: "button" },
          on: { click: clearFilters },
        }),
    );
  }

  function errorState(error: BackendError): HTMLElement {
    const text = errorText(i18n, error.code);
    return h(
      "div",
      { class: "state state-error", testid: "task-list-error", attrs: { role: "alert" } },
      h("p", { class: "state-title", text: i18n.t("taskList.error.title") }),
      h("p", { class: "state-hint", testid: "task-list-error-message", text }),
      h("p", { class: "state-code", text: i18n.t("taskList.error.code", { code: error.code }) }),
      // The Rust side's own words, for whoever helps the inspector.
      error.message !== "" &&
        error.message !== text &&
        h(
          "details",
          { class: "state-detail" },
          h("summary", { text: i18n.t("taskList.error.detail") }),
          h("p", { testid: "task-list-error-detail", text: error.message }),
        ),
      h("button", {
        class: "button",
        testid: "task-list-retry",
        text: i18n.t("taskList.retry"),
        attrs: { type: "button" },
        on: { click: () => void load() },
      }),
    );
  }

  const unsubscribe = i18n.onChange(() => {
    renderChrome();
    renderBody();
  });
  renderChrome();
  void load();

  return {
    element,
    get filter() {
      return filter;
    },
    refresh: load,
    settled: () => latest,
    dispose() {
      clearTimeout(searchTimer);
      unsubscribe();
    },
  };
}

export interface RowContext {
  i18n: I18n;
  nowMs: number;
  timeZone?: string | undefined;
  /** Makes the row a link that opens the task. */
  onOpen?: ((taskId: string) => void) | undefined;
}

/** One task as a list row. Its `data-*` attributes say what the row shows, for tests and styles. */
export function taskRowElement(task: TaskRow, { i18n, nowMs, timeZone, onOpen }: RowContext): HTMLLIElement {
  const overdue = isOverdue(task, nowMs);
  const classes = ["task-row", `status-${task.status}`];
  if (overdue) classes.push("is-overdue");
  if (task.status === "returned") classes.push("is-returned");
  if (isClosed(task.status)) classes.push("is-closed");

  return h(
    "li",
    {
      class: classes.join(" "),
      testid: "task-row",
      attrs: {
        "data-task-id": task.id,
        "data-status": task.status,
        "data-overdue": String(overdue),
        "data-dirty": String(task.dirty),
      },
    },
    rowBody(
      task,
      onOpen,
      h(
        "div",
        { class: "row-main" },
        h(
          "div",
          { class: "row-top" },
          h("span", { class: "task-code", testid: "task-code", text: task.code }),
          h("span", { class: `badge badge-${task.status}`, testid: "task-status", text: i18n.t(`status.${task.status}`) }),
          task.dirty &&
            h("span", {
              class: "badge badge-dirty",
              testid: "task-dirty",
              text: i18n.t("task.dirty"),
              attrs: { title: i18n.t("task.dirtyLabel"), "aria-label": i18n.t("task.dirtyLabel") },
            }),
        ),
        h("div", { class: "subject-name", testid: "task-subject", text: task.subject_name }),
        h(
          "div",
          { class: "uscc" },
          h("span", { class: "field-label", text: i18n.t("task.uscc") }),
          h("span", { class: "uscc-value", testid: "task-uscc", text: task.uscc }),
        ),
        h(
          "ul",
          { class: "departments", testid: "task-departments", attrs: { "aria-label": i18n.t("task.departments") } },
          ...task.departments.map((code) =>
            h("li", { class: "department", attrs: { "data-department": code }, text: i18n.lookup(`dept.${code}`, code) }),
          ),
        ),
      ),
      h(
        "div",
        { class: "row-due" },
        h("span", { class: "field-label", text: i18n.t("task.due") }),
        h("span", { class: "due-date", testid: "task-due", text: formatDate(Number(task.due), i18n.locale, timeZone) }),
        dueHintElement(task, i18n, nowMs, timeZone),
      ),
    ),
  );
}

/** The row's content: a link to the task when it can be opened, else a plain block. */
function rowBody(task: TaskRow, onOpen: ((taskId: string) => void) | undefined, ...children: HTMLElement[]): HTMLElement {
  if (onOpen === undefined) return h("div", { class: "row-body" }, ...children);
  return h(
    "a",
    {
      class: "row-body row-link",
      testid: "task-open",
      attrs: { href: `#task/${encodeURIComponent(task.id)}` },
      on: {
        click: (event) => {
          event.preventDefault();
          onOpen(task.id);
        },
      },
    },
    ...children,
  );
}

function dueHintElement(task: TaskRow, i18n: I18n, nowMs: number, timeZone: string | undefined): HTMLElement | null {
  const hint = dueHint(task, nowMs, timeZone);
  if (hint === null) return null;
  const text =
    hint.kind === "overdue"
      ? hint.days === 0
        ? i18n.t("task.overdue")
        : i18n.plural("task.overdueDays", hint.days, { days: hint.days })
      : hint.kind === "today"
        ? i18n.t("task.dueToday")
        : i18n.plural("task.dueInDays", hint.days, { days: hint.days });
  return h("span", { class: `due-hint due-${hint.kind}`, testid: "task-due-hint", text });
}
