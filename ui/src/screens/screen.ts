// What every screen of the app is: a root element the shell mounts, and a way
// to let go of timers and listeners when the shell shows another screen.

export interface Screen {
  readonly element: HTMLElement;
  dispose(): void;
}
