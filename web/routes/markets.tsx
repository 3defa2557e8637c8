// /markets is the same overview as the home page.
export { default, handler, title } from "./index.tsx";
