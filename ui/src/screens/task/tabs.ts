// The task screen's tabs: one per panel, the open one shown and the others
// hidden, arrow keys moving between them, and a small count on each (answered
// items, evidence, findings and transfers, signatures, what blocks submitting).

import type { TaskView } from "../../backend/backend";
import { h } from "../../dom";
import { type Panel, type TabName, TABS } from "./ctx";
import type { Tr } from "./texts";

export interface Tabs {
  /** The tab bar. */
  readonly bar: HTMLElement;
  /** The panels' boxes, in tab order. */
  readonly boxes: readonly HTMLElement[];
  /** The open tab. */
  readonly current: TabName;
  /** Opens a tab (and tells its panel). */
  show(name: TabName): void;
  /** Shows the open tab and hides the other panels. */
  render(): void;
  /** The tabs' words and counts for `view`. */
  renderLabels(view: TaskView): void;
}

/** The tabs of `panels`; the open one is marked on `screen` (`data-tab`). */
export function tabs(panels: Record<TabName, Panel>, t: Tr, screen: HTMLElement): Tabs {
  let current: TabName = "overview";
  const labels = new Map<TabName, { label: HTMLElement; badge: HTMLElement }>();
  const buttons = new Map<TabName, HTMLButtonElement>();
  const boxes = new Map<TabName, HTMLElement>();
  for (const name of TABS) {
    const label = h("span", { class: "tab-label" });
    const badge = h("span", { class: "tab-badge", testid: "tab-badge" });
    labels.set(name, { label, badge });
    buttons.set(
      name,
      h(
        "button",
        {
          class: `tab tab-${name}`,
          testid: `tab-${name}`,
          attrs: { type: "button", role: "tab", id: `task-tab-${name}`, "aria-controls": `task-panel-${name}` },
          on: { click: () => show(name), keydown: (e) => onKey(e, name) },
        },
        label,
        badge,
      ),
    );
    boxes.set(
      name,
      h(
        "div",
        { class: `panel panel-${name}`, testid: `panel-${name}`, attrs: { role: "tabpanel", id: `task-panel-${name}`, "aria-labelledby": `task-tab-${name}` } },
        panels[name].element,
      ),
    );
  }
  const bar = h("nav", { class: "tab-bar", attrs: { role: "tablist" } }, ...buttons.values());

  function show(name: TabName): void {
    const changed = name !== current;
    current = name;
    render();
    // In a narrow window (or in English) the tab bar scrolls sideways: keep the open tab in sight.
    if (changed) buttons.get(name)?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
    if (changed || name === "timeline") panels[name].shown?.();
  }

  function onKey(event: KeyboardEvent, name: TabName): void {
    const index = TABS.indexOf(name);
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = TABS[(index + step + TABS.length) % TABS.length]!;
    show(next);
    buttons.get(next)?.focus();
  }

  function render(): void {
    screen.dataset.tab = current;
    for (const name of TABS) {
      const selected = name === current;
      const button = buttons.get(name)!;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      button.classList.toggle("is-selected", selected);
      boxes.get(name)!.hidden = !selected;
    }
  }

  function renderLabels(v: TaskView): void {
    const total = v.groups.reduce((n, g) => n + g.items.length, 0);
    const answered = v.groups.reduce((n, g) => n + g.answered, 0);
    const badges: Record<TabName, string> = {
      overview: "",
      checklist: `${answered}/${total}`,
      evidence: String(v.evidence.filter((e) => e.withdrawn_at === null && e.kind !== "signature").length || ""),
      findings: String(v.findings.length + v.lead_transfers.length || ""),
      signatures: String(v.signatures.length || ""),
      submit: String(v.problems.length || ""),
      timeline: "",
    };
    for (const name of TABS) {
      const { label, badge } = labels.get(name)!;
      label.textContent = t(`taskScreen.tab.${name}`);
      badge.textContent = badges[name];
      badge.hidden = badges[name] === "";
    }
    labels.get("submit")!.badge.classList.toggle("is-alert", v.problems.length > 0);
    buttons.get("checklist")!.classList.toggle("has-conflict", v.conflicts.length > 0);
  }

  return {
    bar,
    boxes: [...boxes.values()],
    get current() {
      return current;
    },
    show,
    render,
    renderLabels,
  };
}
