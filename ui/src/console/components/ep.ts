// Element Plus components whose published prop types do not survive the
// project's `exactOptionalPropertyTypes` (their optional props declare
// `validator: … | undefined`, so vue-tsc cannot extract the prop types and
// rejects every value). Same components, with the props the console uses typed
// by hand.

import {
  ElConfigProvider as EpConfigProvider,
  ElOption as EpOption,
  ElSelect as EpSelect,
  ElTabPane as EpTabPane,
  ElTabs as EpTabs,
} from "element-plus";
import type { Language } from "element-plus/es/locale/index.mjs";
import type { DefineComponent } from "vue";

export const ElConfigProvider = EpConfigProvider as unknown as DefineComponent<{ locale?: Language }>;

export const ElSelect = EpSelect as unknown as DefineComponent<{
  modelValue?: string | number | boolean | null;
  placeholder?: string;
  clearable?: boolean;
  filterable?: boolean;
  disabled?: boolean;
  "onUpdate:modelValue"?: (value: string) => void;
}>;

/** ElSelect with `multiple`: its value is the list of chosen values. */
export const ElMultiSelect = EpSelect as unknown as DefineComponent<{
  modelValue?: string[];
  multiple: true;
  placeholder?: string;
  clearable?: boolean;
  filterable?: boolean;
  disabled?: boolean;
  "onUpdate:modelValue"?: (value: string[]) => void;
}>;

export const ElOption = EpOption as unknown as DefineComponent<{
  value: string | number | boolean;
  label?: string | number;
  disabled?: boolean;
}>;

export const ElTabs = EpTabs as unknown as DefineComponent<{
  modelValue?: string | number;
  "onUpdate:modelValue"?: (name: string | number) => void;
}>;

export const ElTabPane = EpTabPane as unknown as DefineComponent<{
  label?: string;
  name?: string | number;
  disabled?: boolean;
  lazy?: boolean;
}>;
