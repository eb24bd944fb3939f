// The supervisors' console: placeholder entry until the screens land.
import { createApp, h } from "vue";

createApp({ render: () => h("p", "Fieldloop") }).mount("#app");
