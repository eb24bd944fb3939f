// Element Plus tags zoom in (el-zoom-in-center) unless told not to: a screenshot
// taken right after a page renders shows them as tiny marks. Every el-tag of the
// console and of the shared record components must disable its transition.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("..", import.meta.url));

function vueFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return vueFiles(path);
    return entry.name.endsWith(".vue") ? [path] : [];
  });
}

/** The opening `<el-tag …>` tags of a template that lack `disable-transitions`. */
function animatedTags(source: string): string[] {
  return [...source.matchAll(/<el-tag\b(?:[^>"']|"[^"]*"|'[^']*')*>/g)].map((m) => m[0]).filter((tag) => !/\sdisable-transitions\b/.test(tag));
}

describe("el-tag transitions", () => {
  it("finds a tag without disable-transitions", () => {
    expect(
      animatedTags('<el-tag type="info">x</el-tag><el-tag\n  size="small"\n  disable-transitions\n>y</el-tag><el-tag v-if="n > 0">z</el-tag>'),
    ).toEqual(['<el-tag type="info">', '<el-tag v-if="n > 0">']);
  });

  it("are disabled on every el-tag of the console and the shared record components", () => {
    const files = [...vueFiles(join(SRC, "console")), ...vueFiles(join(SRC, "shared"))];
    expect(files.length).toBeGreaterThan(5);
    const offenders = files.flatMap((file) => animatedTags(readFileSync(file, "utf-8")).map((tag) => `${file}: ${tag}`));
    expect(offenders).toEqual([]);
  });
});
