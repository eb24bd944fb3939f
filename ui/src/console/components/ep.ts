// Element Plus components whose published prop types do not survive the
// project's `exactOptionalPropertyTypes` (their optional props declare
// `validator: … | undefined`, so vue-tsc cannot extract the prop types and
// rejects every value). Same components, with the props the console uses typed
// by hand.

import { ElConfigProvider as EpConfigProvider, ElOption as EpOption, ElSelect as EpSelect } from "element-plus";
import type { Language } from "element-plus/es/locale/index.mjs";
import type { DefineComponent } from "vue";

export const ElConfigProvider = EpConfigProvider as unknown as DefineComponent<{ locale?: Language }>;

export const ElSelect = EpSelect as unknown as DefineComponent<{
  modelValue?: string | number | boolean | null;
  placeholder?: string;
  clearable?: boolean;
  filterable?: boolean;
  "onUpdate:modelValue"?: (value: string) => void;
}>;

export const ElOption = EpOption as unknown as DefineComponent<{
  value: string | number | boolean;
  label?: string | number;
  disabled?: boolean;
}>;
