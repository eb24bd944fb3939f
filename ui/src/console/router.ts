// The console's pages, routed on the URL hash (the server serves console.html at
// `/` with relative asset URLs). Before every page but the login, the guard makes
// sure there is a session (asking the server once per page load); without one it
// sends to the login page, which comes back to where the user was going.
// Pages marked `admin` are for administrators only.

import { type Router, type RouterHistory, createRouter, createWebHashHistory } from "vue-router";
import { ConsoleApiError } from "./api/http";
import type { ConsoleContext } from "./context";

export const ROUTES = {
  login: "login",
  dashboard: "dashboard",
  tasks: "tasks",
  review: "review",
  newTask: "new-task",
  inspectors: "inspectors",
  import: "import",
  directory: "directory",
  plans: "plans",
  draws: "draws",
  rectifications: "rectifications",
  leads: "leads",
} as const;

export function createConsoleRouter(context: ConsoleContext, history: RouterHistory = createWebHashHistory()): Router {
  const router = createRouter({
    history,
    routes: [
      { path: "/login", name: ROUTES.login, component: () => import("./views/LoginView.vue"), meta: { public: true } },
      { path: "/", name: ROUTES.dashboard, component: () => import("./views/DashboardView.vue") },
      { path: "/tasks", name: ROUTES.tasks, component: () => import("./views/TaskListView.vue") },
      { path: "/tasks/:id", name: ROUTES.review, component: () => import("./views/ReviewView.vue"), props: true },
      { path: "/new", name: ROUTES.newTask, component: () => import("./views/NewTaskView.vue") },
      { path: "/plans", name: ROUTES.plans, component: () => import("./views/PlansView.vue") },
      { path: "/draws", name: ROUTES.draws, component: () => import("./views/DrawsView.vue") },
      { path: "/rectifications", name: ROUTES.rectifications, component: () => import("./views/RectificationsView.vue") },
      { path: "/leads", name: ROUTES.leads, component: () => import("./views/LeadsView.vue") },
      {
        path: "/inspectors",
        name: ROUTES.inspectors,
        component: () => import("./views/InspectorsView.vue"),
        meta: { admin: true },
      },
      {
        path: "/import",
        name: ROUTES.import,
        component: () => import("./views/ImportView.vue"),
        meta: { admin: true },
      },
      {
        path: "/directory",
        name: ROUTES.directory,
        component: () => import("./views/DirectoryView.vue"),
        meta: { admin: true },
      },
      { path: "/:rest(.*)*", redirect: "/" },
    ],
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  });

  router.beforeEach(async (to) => {
    if (to.meta["public"] === true) return true;
    // An administrators' page sends everyone else to the dashboard.
    const allowed = () =>
      to.meta["admin"] === true && context.session.value?.user.role !== "admin" ? { name: ROUTES.dashboard } : true;
    if (context.session.value !== null) return allowed();
    try {
      context.session.value = await context.api.session();
      void context.loadDirectory();
      return allowed();
    } catch (error) {
      // No session (401) or no server: either way the login page is where to go;
      // it says what went wrong when the user tries.
      const redirect = to.fullPath === "/" ? undefined : to.fullPath;
      const query: Record<string, string> = redirect === undefined ? {} : { redirect };
      if (error instanceof ConsoleApiError && !error.sessionLost && error.status !== 401) query["error"] = error.code;
      return { name: ROUTES.login, query };
    }
  });

  // A request that finds the session gone (expired, signed out elsewhere) leads to the login page.
  context.api.onSessionLost = () => {
    context.forgetSession();
    const current = router.currentRoute.value;
    if (current.meta["public"] === true) return;
    void router.push({ name: ROUTES.login, query: { redirect: current.fullPath, expired: "1" } });
  };

  return router;
}
