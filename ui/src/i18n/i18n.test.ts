import { describe, expect, it } from "vitest";
import { en } from "./en";
import { fill, I18n, LANG_STORAGE_KEY, type LangStorage } from "./index";
import { zh } from "./zh";

function memoryStorage(initial: Record<string, string> = {}): LangStorage & { data: Record<string, string> } {
  const data = { ...initial };
  return {
    data,
    getItem: (key) => data[key] ?? null,
    setItem: (key, value) => {
      data[key] = value;
    },
  };
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("message catalogs", () => {
  it("zh and en have the same keys", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
  });

  it("no text is empty", () => {
    for (const [key, text] of [...Object.entries(zh), ...Object.entries(en)]) {
      expect(text.trim(), key).not.toBe("");
    }
  });

  it("each key has the same placeholders in both languages", () => {
    for (const key of Object.keys(zh) as (keyof typeof zh)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(zh[key]));
    }
  });

  it("plural keys come in .one/.other pairs", () => {
    const keys = new Set(Object.keys(zh));
    for (const key of keys) {
      if (key.endsWith(".one")) expect(keys.has(key.replace(/\.one$/, ".other")), key).toBe(true);
      if (key.endsWith(".other")) expect(keys.has(key.replace(/\.other$/, ".one")), key).toBe(true);
    }
  });

  it("the Chinese catalog is written in Chinese", () => {
    expect(zh["taskList.title"]).toMatch(/\p{Script=Han}/u);
    expect(zh["status.returned"]).toBe("已退回");
  });
});

describe("I18n", () => {
  it("is Chinese by default", () => {
    const i18n = new I18n(memoryStorage());
    expect(i18n.lang).toBe("zh");
    expect(i18n.locale).toBe("zh-CN");
    expect(i18n.t("taskList.filter.all")).toBe("全部");
  });

  it("starts in the remembered language and ignores unknown values", () => {
    expect(new I18n(memoryStorage({ [LANG_STORAGE_KEY]: "en" })).lang).toBe("en");
    expect(new I18n(memoryStorage({ [LANG_STORAGE_KEY]: "fr" })).lang).toBe("zh");
    expect(new I18n(null).lang).toBe("zh");
  });

  it("remembers a switch and tells listeners", () => {
    const storage = memoryStorage();
    const i18n = new I18n(storage);
    const seen: string[] = [];
    const unsubscribe = i18n.onChange((lang) => seen.push(lang));
    i18n.toggle();
    expect(i18n.t("taskList.filter.all")).toBe("All");
    expect(storage.data[LANG_STORAGE_KEY]).toBe("en");
    i18n.setLang("en"); // no change, no event
    unsubscribe();
    i18n.toggle();
    expect(seen).toEqual(["en"]);
    expect(i18n.lang).toBe("zh");
  });

  it("survives a storage that throws", () => {
    const broken: LangStorage = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
    };
    const i18n = new I18n(broken);
    i18n.toggle();
    expect(i18n.lang).toBe("en");
  });

  it("fills placeholders and picks plural forms", () => {
    const i18n = new I18n(memoryStorage());
    expect(i18n.plural("taskList.count", 1)).toBe("共 1 项任务");
    i18n.setLang("en");
    expect(i18n.plural("taskList.count", 1)).toBe("1 task");
    expect(i18n.plural("taskList.count", 3)).toBe("3 tasks");
    expect(i18n.plural("task.overdueDays", 2, { days: 2 })).toBe("2 days overdue");
  });

  it("looks up keys built at run time, with a fallback", () => {
    const i18n = new I18n(memoryStorage());
    expect(i18n.lookup("dept.SCJG", "SCJG")).toBe("市场监管");
    expect(i18n.lookup("dept.unknown_dept", "unknown_dept")).toBe("unknown_dept");
    expect(i18n.lookup("toString", "x")).toBe("x");
  });
});

describe("fill", () => {
  it("replaces known placeholders only", () => {
    expect(fill("{a} and {b}", { a: 1 })).toBe("1 and {b}");
  });
});
